// The processes of one mount namespace (a container's: its main process, its
// children and orphans, `exec --join` sessions), read from /proc as the
// host sees them: for `top` and `stats`.
import { readFileSync } from 'node:fs';
import { mountNamespaceOf, processesInMountNamespace } from './mount-namespace.js';

export interface ProcessInfo {
  /** As the host sees it. */
  hostPid: number;
  /** In the pod's PID namespace (the last NSpid). */
  pid: number;
  ppid: number;
  /** Host ids (real uid and gid). */
  hostUid: number;
  hostGid: number;
  state: string;
  /** user + system CPU time, in clock ticks. */
  cpuTicks: number;
  /** Start, in clock ticks since boot. */
  startTicks: number;
  rssBytes: number;
  tty: number;
  command: string;
}

const PAGE = 4096;

function read(pid: number): ProcessInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const field = (name: string) => (new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '').trim().split(/\s+/);
    const nspid = field('NSpid').map(Number);
    const nsppid = (() => {
      try {
        const ps = readFileSync(`/proc/${f[1]}/status`, 'latin1');
        const ids = (/^NSpid:\s*(.*)$/m.exec(ps)?.[1] ?? '').trim().split(/\s+/).map(Number);
        return ids.length === nspid.length ? ids[ids.length - 1]! : 0; // a parent outside the pod (the keeper) is 0, as PID 1's
      } catch {
        return 0;
      }
    })();
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean).join(' ');
    return {
      hostPid: pid,
      pid: nspid[nspid.length - 1] ?? pid,
      ppid: nsppid,
      hostUid: Number(field('Uid')[0]),
      hostGid: Number(field('Gid')[0]),
      state: f[0] ?? '?',
      cpuTicks: Number(f[11]) + Number(f[12]),
      startTicks: Number(f[19]),
      rssBytes: Number(f[21]) * PAGE,
      tty: Number(f[4]),
      command: cmdline || `[${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}]`,
    };
  } catch {
    return null; // gone meanwhile
  }
}

/** Every live process in the mount namespace of `pid` (which is among them), lowest pid first. */
export function processesLike(pid: number): ProcessInfo[] {
  const ns = mountNamespaceOf(pid);
  if (!ns) return [];
  return processesInMountNamespace(ns)
    .map(read)
    .filter((p): p is ProcessInfo => p !== null && p.state !== 'Z')
    .sort((a, b) => a.pid - b.pid);
}

/** Seconds since boot, and clock ticks per second (USER_HZ is 100 on Linux). */
export function uptimeSeconds(): number {
  return Number(readFileSync('/proc/uptime', 'latin1').split(' ')[0]);
}
export const CLOCK_TICKS = 100;
