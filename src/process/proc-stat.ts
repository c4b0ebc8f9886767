// Facts about a pid from /proc, so a recycled pid is never mistaken for ours.
import { readFileSync } from 'node:fs';

export interface ProcIdentity {
  pid: number;
  /** Field 22 of /proc/PID/stat: start time in clock ticks since boot. */
  startTime: string;
}

interface StatFields {
  state: string;
  ppid: number;
  startTime: string;
}

export function readStat(pid: number): StatFields | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // comm may contain spaces and parentheses: fields start after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0] ?? '?', ppid: Number(rest[1]), startTime: rest[19] ?? '' };
}

export function identify(pid: number): ProcIdentity | null {
  const st = readStat(pid);
  return st ? { pid, startTime: st.startTime } : null;
}

/** True when the same process (pid and start time) is still alive and not a zombie. */
export function isAlive(id: ProcIdentity | null | undefined): boolean {
  if (!id) return false;
  const st = readStat(id.pid);
  return !!st && st.startTime === id.startTime && st.state !== 'Z' && st.state !== 'X';
}
