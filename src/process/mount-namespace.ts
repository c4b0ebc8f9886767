// A container's processes, found by its mount namespace: its orphans are
// adopted by the pod's pause, so the main pid does not lead to them, but
// every one of them shares the container's mount namespace and no default
// capability lets a process leave it. The pod's owner (the supervisor)
// may read the namespace links of every process in the pod, whatever its
// uid: it holds every capability in the pod's user namespace.
import { readdirSync, readlinkSync } from 'node:fs';
import { closeFd, pidfdOpen, pidfdSendSignal } from '../native/ffi.js';

const SIGKILL = 9;
/** A container forking as fast as it can is still emptied; each round kills what it finds. */
const MAX_ROUNDS = 100;

/** "mnt:[4026532252]" for a live process, null once it is gone (or a zombie). */
export function mountNamespaceOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return null;
  }
}

export function processesInMountNamespace(ns: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    const pid = Number(entry);
    if (mountNamespaceOf(pid) === ns) pids.push(pid);
  }
  return pids;
}

/** SIGKILL through a pidfd, after checking the pid is still in `ns` (pids get recycled). */
function killIfIn(pid: number, ns: string): void {
  const fd = pidfdOpen(pid);
  if (fd < 0) return;
  try {
    if (mountNamespaceOf(pid) === ns) pidfdSendSignal(fd, SIGKILL);
  } finally {
    closeFd(fd);
  }
}

/** Kills every process left in the mount namespace; resolves once none is left. */
export async function killMountNamespace(ns: string): Promise<void> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const left = processesInMountNamespace(ns);
    if (left.length === 0) return;
    for (const pid of left) killIfIn(pid, ns);
    await new Promise((r) => setTimeout(r, round < 5 ? 1 : 10));
  }
}
