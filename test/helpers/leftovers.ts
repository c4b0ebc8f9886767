// "Nothing left behind", checked the way the kernel sees processes, not by
// command line alone: a pause's argv is only "/pause", a forwarder's names no
// state root, and a container runs whatever its image holds. So a process
// counts as a state root's leftover when any of these holds:
//   1. its command line names the root (supervisors, CLI calls, workers);
//   2. it descends from such a process, or from this test process (library
//      pods), e.g. a pause, a forwarder, pasta, a container;
//   3. it lives in the PID or user namespace of a pod the test watched
//      (watchPod pins those namespaces, so their inode numbers cannot be
//      reused by another pod meanwhile);
//   4. it is an orphaned nsbox process of ours: a pause (argv "/pause", or the
//      build's pause binary), a forwarder or pasta, owned by our uid, started
//      after this test process, whose parent is not a Node process (its
//      supervisor or creator died and it was not taken down with it).
// Rule 4 catches what no rule can attribute (a pause whose supervisor died
// before anyone saw it); it may blame another test's orphan, never miss one.
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { repoRoot } from './env.js';
import { nsbox } from './nsbox.js';

export interface ProcEntry {
  pid: number;
  ppid: number;
  /** The state letter of /proc/PID/stat: R, S, D, Z, ... */
  state: string;
  /** Clock ticks after boot (stat field 22): with the pid, names one process for good. */
  startTime: number;
  uid: number;
  argv: string[];
  /** null when unreadable (another user's process) or gone. */
  exe: string | null;
  pidNs: string | null;
  userNs: string | null;
}

const buildDir = join(repoRoot, 'native-shims', 'build');
const PAUSE_EXE = join(buildDir, 'pause');
const FORWARDER_EXE = join(buildDir, 'nsbox-forward');
const NODE_EXE = readlinkSync('/proc/self/exe');
const MY_UID = process.getuid?.() ?? 0;

const readOrNull = <T>(read: () => T): T | null => {
  try {
    return read();
  } catch {
    return null;
  }
};

export function readProc(pid: number): ProcEntry | null {
  const stat = readOrNull(() => readFileSync(`/proc/${pid}/stat`, 'latin1'));
  const status = readOrNull(() => readFileSync(`/proc/${pid}/status`, 'latin1'));
  if (!stat || !status) return null;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields 3.. of stat
  const argv = (readOrNull(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8')) ?? '').split('\0');
  if (argv[argv.length - 1] === '') argv.pop();
  return {
    pid,
    ppid: Number(fields[1]),
    state: fields[0] ?? '?',
    startTime: Number(fields[19]),
    uid: Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1),
    argv,
    exe: readOrNull(() => readlinkSync(`/proc/${pid}/exe`)),
    pidNs: readOrNull(() => readlinkSync(`/proc/${pid}/ns/pid`)),
    userNs: readOrNull(() => readlinkSync(`/proc/${pid}/ns/user`)),
  };
}

/** Every live (not zombie) process on the machine, this one excluded. */
export function liveProcesses(): ProcEntry[] {
  const out: ProcEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const p = readProc(Number(name));
    if (p && p.state !== 'Z' && p.state !== 'X') out.push(p);
  }
  return out;
}

export type NsboxRole = 'pause' | 'forwarder' | 'pasta' | 'keeper';

/** What nsbox process `p` is, by its binary or argv; null for anything else. */
export function nsboxRole(p: ProcEntry): NsboxRole | null {
  const exeName = p.exe ? basename(p.exe).replace(/ \(deleted\)$/, '') : '';
  const arg0 = basename(p.argv[0] ?? '');
  // The pause may run from a copy inside its own root: its exe then reads "/pause".
  if (p.argv[0] === '/pause' || p.exe === PAUSE_EXE || exeName === 'pause') return 'pause';
  if (p.exe === FORWARDER_EXE || exeName === 'nsbox-forward' || arg0 === 'nsbox-forward') return 'forwarder';
  if (exeName === 'pasta' || arg0 === 'pasta') return 'pasta';
  if (exeName === 'nsbox-keeper' || arg0 === 'nsbox-keeper') return 'keeper';
  return null;
}

function describe(p: ProcEntry, why: string): string {
  const role = nsboxRole(p) ?? 'process';
  return `${role} pid ${p.pid} (ppid ${p.ppid}, state ${p.state}, argv ${JSON.stringify(p.argv.join(' ').slice(0, 160))}, exe ${p.exe ?? '?'}, ${p.pidNs ?? '?'}, ${p.userNs ?? '?'}): ${why}`;
}

const MY_START = readProc(process.pid)!.startTime;

// ------------------------------------------------------------ pod watches

/** A pod's namespaces, pinned while it lived, and its host-side processes then. */
export interface PodWatch {
  name: string;
  pidNs: string;
  userNs: string;
  /** pause, supervisor and the supervisor's children (forwarder, pasta), as pid + start time. */
  processes: { pid: number; startTime: number; role: string }[];
  /** Releases the pinned namespaces. */
  close(): void;
}

function pinNamespace(pid: number, ns: 'pid' | 'user'): { link: string; fd: number } {
  const fd = openSync(`/proc/${pid}/ns/${ns}`, 'r');
  return { link: `${ns}:[${fstatSync(fd).ino}]`, fd };
}

/**
 * Watches pod `name` of `root` (it must be running): pins its PID and user
 * namespaces and records its pause, supervisor and their children, so that
 * leftoverProcesses finds them after the pod is meant to be gone.
 */
export function watchPod(root: string, name: string): PodWatch {
  const r = nsbox(root, ['pod', 'inspect', name]);
  if (r.code !== 0) throw new Error(`watchPod: pod inspect ${name}: ${r.stderr}`);
  const info = JSON.parse(r.stdout) as { pausePid: number; supervisorPid: number };
  return watchPause(name, info.pausePid, info.supervisorPid);
}

/**
 * watchPod for a pod with published ports, once its supervisor has started
 * the port server (forwarder or pasta): pod create returns before that.
 */
export async function watchPublishingPod(root: string, name: string, timeoutMs = 10_000): Promise<PodWatch> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const w = watchPod(root, name);
    if (w.processes.some((p) => p.role === 'forwarder' || p.role === 'pasta')) return w;
    w.close();
    if (Date.now() > deadline) throw new Error(`watchPublishingPod: pod ${name} has no forwarder or pasta after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** As watchPod, from the pids (library pods: pod.record.pause.pid, pod.record.supervisor.pid). */
export function watchPause(name: string, pausePid: number, supervisorPid: number): PodWatch {
  const pidNs = pinNamespace(pausePid, 'pid');
  const userNs = pinNamespace(pausePid, 'user');
  const seen = new Map<number, ProcEntry>();
  for (const p of [readProc(pausePid), readProc(supervisorPid), ...liveProcesses().filter((c) => c.ppid === supervisorPid)]) {
    if (p && p.pid !== process.pid) seen.set(p.pid, p);
  }
  const recorded = [...seen.values()].map((p) => ({ pid: p.pid, startTime: p.startTime, role: nsboxRole(p) ?? 'child of the supervisor' }));
  let open = true;
  return {
    name,
    pidNs: pidNs.link,
    userNs: userNs.link,
    processes: recorded,
    close() {
      if (!open) return;
      open = false;
      closeSync(pidNs.fd);
      closeSync(userNs.fd);
    },
  };
}

// ------------------------------------------------------------- leftovers

function descendants(all: ProcEntry[], seeds: Set<number>): Set<number> {
  const children = new Map<number, number[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const out = new Set<number>();
  const queue = [...seeds];
  while (queue.length) {
    for (const c of children.get(queue.pop()!) ?? []) {
      if (!out.has(c)) {
        out.add(c);
        queue.push(c);
      }
    }
  }
  return out;
}

/**
 * The holders of every test root's user networks (pid → start time): a
 * network's holder is parentless by design, in a session of its own, so
 * rule 4 must not blame one that another test file's network still records.
 * A holder of the checked root itself is a leak its test checks by pid.
 */
function networkHolders(): Map<number, number> {
  const held = new Map<number, number>();
  const note = (path: string) => {
    const r = readOrNull(() => JSON.parse(readFileSync(path, 'utf8')) as { holder?: { pid?: number; startTime?: string } });
    if (typeof r?.holder?.pid === 'number') held.set(r.holder.pid, Number(r.holder.startTime));
  };
  for (const d of readOrNull(() => readdirSync(tmpdir())) ?? []) {
    if (!d.startsWith('nsbox-test-')) continue;
    const nets = join(tmpdir(), d, 'networks');
    note(join(nets, 'userns.json'));
    for (const n of readOrNull(() => readdirSync(nets)) ?? []) note(join(nets, n, 'network.json'));
  }
  return held;
}

/** Whether its parent is a Node creator (a library pod) or a pod's keeper. */
function parentIsOwner(p: ProcEntry): boolean {
  const exe = readOrNull(() => readlinkSync(`/proc/${p.ppid}/exe`));
  if (exe) return exe === NODE_EXE || basename(exe).replace(/ \(deleted\)$/, '') === 'nsbox-keeper';
  // exe is unreadable in a process that is not dumpable (one starting a pod may briefly be): its name still is.
  const stat = readOrNull(() => readFileSync(`/proc/${p.ppid}/stat`, 'latin1'));
  const comm = stat ? stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) : null;
  return comm === 'node' || comm === 'nsbox-keeper';
}

/**
 * Processes of state root `root` that are alive now, one line each saying
 * what they are and which rule found them (see the top of this file).
 * Empty means nothing is left. Other pods of the same root count too: call
 * it when the root should have no running pod.
 */
export function leftoverProcessesNow(root: string, watched: PodWatch[] = []): string[] {
  const all = liveProcesses();
  const found = new Map<number, string>();
  const add = (p: ProcEntry, why: string) => {
    if (!found.has(p.pid)) found.set(p.pid, describe(p, why));
  };
  const naming = new Set(all.filter((p) => p.argv.some((a) => a.includes(root))).map((p) => p.pid));
  const below = descendants(all, new Set([...naming, process.pid]));
  const namespaces = new Set(watched.flatMap((w) => [w.pidNs, w.userNs]));
  const recorded = new Map(watched.flatMap((w) => w.processes.map((r) => [r.pid, { ...r, pod: w.name }] as const)));
  const holders = networkHolders();
  for (const p of all) {
    if (naming.has(p.pid)) add(p, 'its command line names the state root');
    else if (below.has(p.pid)) add(p, 'it descends from a process of the state root or of this test');
    else if (p.pidNs && namespaces.has(p.pidNs)) add(p, "it is in a watched pod's PID namespace");
    else if (p.userNs && namespaces.has(p.userNs)) add(p, "it is in a watched pod's user namespace");
    else if (recorded.get(p.pid)?.startTime === p.startTime) add(p, `it is the ${recorded.get(p.pid)!.role} of pod ${recorded.get(p.pid)!.pod}`);
    else if (nsboxRole(p) && nsboxRole(p) !== 'keeper' && p.uid === MY_UID && p.startTime >= MY_START && !parentIsOwner(p) && holders.get(p.pid) !== p.startTime)
      add(p, 'an orphaned nsbox process: its parent is not a keeper or a Node creator');
  }
  return [...found.values()];
}

/**
 * leftoverProcessesNow once the machine has settled: processes that are being
 * killed (SIGKILL sent, not yet exited) get up to `settleMs` to go. A real
 * leak stays, and is returned.
 */
export async function leftoverProcesses(root: string, watched: PodWatch[] = [], settleMs = 5000): Promise<string[]> {
  const deadline = Date.now() + settleMs;
  for (;;) {
    const left = leftoverProcessesNow(root, watched);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ------------------------------------------------------------ temp files

/** Directories that hold a rootfs's own files (an image layer, a container's overlay or copy), not nsbox's. */
const ROOTFS_DIRS = new Set(['diff', 'upper', 'work', 'copy', 'rootfs']);

/**
 * Scratch left under a state root: anything in images/tmp (imports in
 * progress are images/tmp/<pid>-XXXXXX, removals images/tmp/rm-<pid>-XXXXXX)
 * and, at any depth, the name of an atomic write in progress (x.tmp-<pid>)
 * or another temp name. Rootfs contents are the image's files: not searched.
 */
export function scratchFiles(root: string): string[] {
  const scratchDir = join(root, 'images', 'tmp');
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readOrNull(() => readdirSync(dir, { withFileTypes: true })) ?? []) {
      const p = join(dir, e.name);
      if (dir === scratchDir || /^\.tmp|\.tmp$|\.tmp-/.test(e.name)) out.push(p);
      else if (e.isDirectory() && !ROOTFS_DIRS.has(e.name)) walk(p);
    }
  };
  walk(root);
  return out;
}
