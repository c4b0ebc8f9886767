// A container's processes, found by its mount namespace: its orphans are
// adopted by the pod's pause, so the main pid does not lead to them, but
// every one of them shares the container's mount namespace and no default
// capability lets a process leave it. The container's process sends us an
// fd of that namespace when it starts: holding it keeps the namespace, and
// so its inode number, alive; without it a namespace made after ours died
// could get the same number and we would kill another container's
// processes. The pod's owner (the supervisor) may read the namespace links
// of every process in the pod, whatever its uid: it holds every capability
// in the pod's user namespace.
import { closeSync, fstatSync, readdirSync, readlinkSync } from 'node:fs';
import { closeFd, pidfdOpen, pidfdSendSignal } from '../native/ffi.js';
import { fdChannel } from './fd-channel.js';

const SIGKILL = 9;
/** A container forking as fast as it can is still emptied; each round kills what it finds. */
const MAX_ROUNDS = 100;

/** A held mount namespace: its fd, and the name /proc/PID/ns/mnt gives it ("mnt:[INODE]"). */
export interface HeldNamespace {
  fd: number;
  name: string;
}

/** The socket pair a container's process sends its namespace over: give `theirs` to the plan. */
export function namespaceChannel(): { theirs: number; receive(): HeldNamespace | null; close(): void } {
  const channel = fdChannel("the container's mount namespace");
  return {
    theirs: channel.theirs,
    receive() {
      const fd = channel.receive();
      return fd < 0 ? null : { fd, name: `mnt:[${fstatSync(fd).ino}]` };
    },
    close: channel.close,
  };
}

export function mountNamespaceOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return null; // gone, or a zombie
  }
}

export function processesInMountNamespace(name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    const pid = Number(entry);
    if (mountNamespaceOf(pid) === name) pids.push(pid);
  }
  return pids;
}

/** SIGKILL through a pidfd, after checking the pid is still in the namespace (pids get recycled). */
function killIfIn(pid: number, name: string): void {
  const fd = pidfdOpen(pid);
  if (fd < 0) return;
  try {
    if (mountNamespaceOf(pid) === name) pidfdSendSignal(fd, SIGKILL);
  } finally {
    closeFd(fd);
  }
}

/** Kills every process left in the namespace, then lets it go; resolves once none is left. */
export async function killMountNamespace(ns: HeldNamespace): Promise<void> {
  try {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const left = processesInMountNamespace(ns.name);
      if (left.length === 0) return;
      for (const pid of left) killIfIn(pid, ns.name);
      await new Promise((r) => setTimeout(r, round < 5 ? 1 : 10));
    }
  } finally {
    closeSync(ns.fd);
  }
}
