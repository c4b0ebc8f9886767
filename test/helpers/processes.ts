// What /proc says about the processes of a pod (CPU time, open fds, members
// of the pod's PID namespace), and the CLI run as a child the test can
// signal while it works.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { constants } from 'node:os';
import { cliPath } from './env.js';
import { nsbox } from './nsbox.js';

/** Fields after the command name in /proc/PID/stat (field 3 is index 0), or null once it is gone. */
function statFields(pid: number): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** utime + stime of a process, in clock ticks (100 per second on Linux). */
export function cpuTicks(pid: number): number {
  const f = statFields(pid);
  if (!f) throw new Error(`process ${pid} is gone`);
  return Number(f[11]) + Number(f[12]);
}

export const TICKS_PER_SECOND = 100;

export function openFdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Live (not zombie) pids in a pinned PID namespace (pinned, so that the name cannot pass to a later namespace). */
export function pidNamespaceMembers(pinned: PinnedPidNamespace): number[] {
  const nsInode = pinned.ns;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/pid`) !== nsInode) continue;
      const state = statFields(Number(entry))?.[0];
      if (state && state !== 'Z' && state !== 'X') pids.push(Number(entry));
    } catch {
      // exited meanwhile, or not ours to look at
    }
  }
  return pids;
}

/** A PID namespace held open, so that its name stays its own. */
export interface PinnedPidNamespace {
  /** As /proc/PID/ns/pid reads, e.g. "pid:[4026532175]". */
  ns: string;
  release(): void;
}

/**
 * The PID namespace of `pid`, held open until `release`. The kernel gives a
 * freed namespace's inode number to the next new one (within half a second
 * here), so without the hold a pod made meanwhile by a test file running
 * alongside could take the name, and its processes pass for this pod's.
 */
export function pinPidNamespace(pid: number): PinnedPidNamespace {
  const fd = openSync(`/proc/${pid}/ns/pid`, 'r');
  const ns = readlinkSync(`/proc/${pid}/ns/pid`);
  if (readlinkSync(`/proc/self/fd/${fd}`) !== ns) {
    closeSync(fd);
    throw new Error(`process ${pid} ended while its PID namespace was being pinned`);
  }
  let open = true;
  return {
    ns,
    release() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/** True while the process runs (a zombie has ended: its parent may not reap here). */
export function running(pid: number): boolean {
  const state = statFields(pid)?.[0];
  return !!state && state !== 'Z' && state !== 'X';
}

export interface PodFacts {
  id: string;
  status: string;
  pausePid: number;
  supervisorPid: number;
}

export function podFacts(root: string, name: string): PodFacts {
  const r = nsbox(root, ['pod', 'inspect', name]);
  if (r.code !== 0) throw new Error(`pod inspect ${name} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as PodFacts;
}

/** The live (not zombie) children of `ppid`. */
export function childPids(ppid: number): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => {
      const f = statFields(pid);
      return !!f && Number(f[1]) === ppid && f[0] !== 'Z' && f[0] !== 'X';
    });
}

/** The live children of `ppid` whose executable path ends with `exeSuffix`. */
export function childrenByExe(ppid: number, exeSuffix: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(Number(entry));
    if (!f || Number(f[1]) !== ppid || f[0] === 'Z') continue;
    try {
      if (readlinkSync(`/proc/${entry}/exe`).endsWith(exeSuffix)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

export interface CliChild {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (128+N when killed by signal N). */
  exited: Promise<number>;
}

/** Starts the CLI as a child this test can signal; output is collected as it comes. */
export function startCli(root: string, args: string[], env: NodeJS.ProcessEnv = process.env): CliChild {
  const child = spawn(process.execPath, [cliPath, '--root', root, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number>((resolve) => {
    child.on('close', (code, signal) => {
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Resolves with what `p` resolves to, or 'pending' if it has not within `ms`. */
export function settledWithin<T>(p: Promise<T>, ms: number): Promise<T | 'pending'> {
  return Promise.race([p, new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms))]);
}
