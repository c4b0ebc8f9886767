// The only module that imports ffi-rs: typed bindings to libnsbox-shim.so.
// Every binding returns a value >= 0 or -errno (the shim never sets errno for
// us), so callers never depend on ffi-rs's errno handling.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { NsboxError } from '../errors.js';
import { artifacts, nativeBuildFix, requireArtifact } from './artifacts.js';

type FfiRs = typeof import('ffi-rs');

/**
 * ffi-rs's loader asks process.report.getReport() whether libc is glibc,
 * which costs ~4 ms of every CLI call. Our shim is built against the system
 * libc, so answer from the dynamic loader's presence instead.
 */
function loadFfiRs(): FfiRs {
  const report = process.report as { getReport: (...a: unknown[]) => unknown } | undefined;
  const original = report?.getReport;
  const glibc = ['/lib64/ld-linux-x86-64.so.2', '/lib/ld-linux-aarch64.so.1'].some((p) => existsSync(p));
  if (report && original && glibc) report.getReport = () => ({ header: { glibcVersionRuntime: 'glibc' } });
  try {
    return createRequire(import.meta.url)('ffi-rs') as FfiRs;
  } finally {
    if (report && original) report.getReport = original;
  }
}

// Loaded on first use: CLI verbs that never call into the shim (run -d, ps,
// logs) do not pay for the native addon.
let ffiRs: FfiRs | undefined;
const ffi = (): FfiRs => (ffiRs ??= loadFfiRs());

/** The one loaded ffi-rs, for the other native bindings (libseccomp.ts). */
export const ffiRsModule = ffi;

const LIB = 'nsbox-shim';
let bound: ReturnType<typeof bind> | undefined;

function bind() {
  const { DataType, define, open } = ffi();
  const path = requireArtifact(artifacts.shimLibrary);
  try {
    open({ library: LIB, path });
  } catch (err) {
    // A truncated or foreign file: the dynamic loader's reason, and how to rebuild it.
    throw new NsboxError('NATIVE_BROKEN', `native shim ${path} does not load (${err instanceof Error ? err.message : String(err)})`, `rebuild it: ${nativeBuildFix({ missing: false })}`);
  }
  const I = DataType.I32;
  const B = DataType.U8Array;
  return define({
    nsbox_spawn: { library: LIB, retType: I, paramsType: [B, I, B] },
    nsbox_pidfd_open: { library: LIB, retType: I, paramsType: [I] },
    nsbox_pidfd_send_signal: { library: LIB, retType: I, paramsType: [I, I] },
    nsbox_set_child_subreaper: { library: LIB, retType: I, paramsType: [] },
    nsbox_reap: { library: LIB, retType: I, paramsType: [I, B] },
    nsbox_set_winsize: { library: LIB, retType: I, paramsType: [I, I, I] },
    nsbox_pipe: { library: LIB, retType: I, paramsType: [B] },
    nsbox_close: { library: LIB, retType: I, paramsType: [I] },
    nsbox_dup: { library: LIB, retType: I, paramsType: [I] },
    nsbox_kill: { library: LIB, retType: I, paramsType: [I, I] },
    nsbox_flock: { library: LIB, retType: I, paramsType: [I, I] },
    nsbox_mknod_whiteout: { library: LIB, retType: I, paramsType: [DataType.String] },
    nsbox_lsetxattr: { library: LIB, retType: I, paramsType: [DataType.String, DataType.String, DataType.String, I] },
    nsbox_socketpair: { library: LIB, retType: I, paramsType: [B] },
    nsbox_stream_socketpair: { library: LIB, retType: I, paramsType: [B] },
    nsbox_recv_fd: { library: LIB, retType: I, paramsType: [I] },
    nsbox_open_beneath: { library: LIB, retType: I, paramsType: [DataType.String, DataType.String] },
    nsbox_open_in_root: { library: LIB, retType: I, paramsType: [I, DataType.String, I, I] },
  } as const);
}

function fns() {
  if (!bound) bound = bind();
  return bound;
}

/** sizeof(struct nsbox_result) in plan.h: nine int32 (test/plan-abi.test.ts counts them). */
export const RESULT_SIZE = 36;

export interface SpawnResult {
  rc: number;
  pid: number;
  section: number;
  step: number;
  err: number;
  detail: number;
  middleStatus: number;
  /** The middle process; alive as the caller's child when it exec'd (execMiddle). */
  middlePid: number;
  middleExecd: boolean;
}

/** struct nsbox_result as the shim wrote it (also by the nsbox-exec helper, on its control socket). */
export function decodeResult(rc: number, out: Buffer): SpawnResult {
  return {
    rc,
    pid: out.readInt32LE(0),
    section: out.readInt32LE(4),
    step: out.readInt32LE(8),
    err: out.readInt32LE(12),
    detail: out.readInt32LE(16),
    middleStatus: out.readInt32LE(20),
    middlePid: out.readInt32LE(24),
    middleExecd: out.readInt32LE(28) === 1,
  };
}

/** Runs a plan synchronously (blocks this thread ~1-5 ms). */
export function spawnPlanSync(plan: Buffer): SpawnResult {
  const out = Buffer.alloc(RESULT_SIZE);
  const rc = fns().nsbox_spawn([plan, plan.length, out]) as number;
  return decodeResult(rc, out);
}

/** Runs a plan on a libuv pool thread. */
export async function spawnPlan(plan: Buffer): Promise<SpawnResult> {
  const out = Buffer.alloc(RESULT_SIZE);
  fns();
  const { DataType, load } = ffi();
  const rc = await load({
    library: LIB,
    funcName: 'nsbox_spawn',
    retType: DataType.I32,
    paramsType: [DataType.U8Array, DataType.I32, DataType.U8Array],
    paramsValue: [plan, plan.length, out],
    runInNewThread: true,
  });
  return decodeResult(rc, out);
}

export function pidfdOpen(pid: number): number {
  return fns().nsbox_pidfd_open([pid]) as number;
}

export function pidfdSendSignal(pidfd: number, signal: number): number {
  return fns().nsbox_pidfd_send_signal([pidfd, signal]) as number;
}

export function setChildSubreaper(): number {
  return fns().nsbox_set_child_subreaper([]) as number;
}

/** waitpid(pid, WNOHANG): null while running, else the raw wait status; -errno on error. */
export function reap(pid: number): { rc: number; status: number } {
  const out = Buffer.alloc(4);
  const rc = fns().nsbox_reap([pid, out]) as number;
  return { rc, status: out.readInt32LE(0) };
}

export function setWinsize(fd: number, rows: number, cols: number): number {
  return fns().nsbox_set_winsize([fd, rows, cols]) as number;
}

export function pipe(): { rc: number; read: number; write: number } {
  const out = Buffer.alloc(8);
  const rc = fns().nsbox_pipe([out]) as number;
  return { rc, read: out.readInt32LE(0), write: out.readInt32LE(4) };
}

/** A close-on-exec copy of fd that no event loop watches; fd or -errno. */
export function dupFd(fd: number): number {
  return fns().nsbox_dup([fd]) as number;
}

export function closeFd(fd: number): number {
  return fns().nsbox_close([fd]) as number;
}

export function kill(pid: number, signal: number): number {
  return fns().nsbox_kill([pid, signal]) as number;
}

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

export function flock(fd: number, op: number): number {
  return fns().nsbox_flock([fd, op]) as number;
}

export async function flockAsync(fd: number, op: number): Promise<number> {
  fns();
  const { DataType, load } = ffi();
  return load({
    library: LIB,
    funcName: 'nsbox_flock',
    retType: DataType.I32,
    paramsType: [DataType.I32, DataType.I32],
    paramsValue: [fd, op],
    runInNewThread: true,
  });
}

/** Creates an overlayfs whiteout (a 0/0 character device) at path; 0 or -errno. */
export function mknodWhiteout(path: string): number {
  return fns().nsbox_mknod_whiteout([path]) as number;
}

/** lsetxattr(path, name, value); 0 or -errno. */
export function lsetxattr(path: string, name: string, value: string): number {
  return fns().nsbox_lsetxattr([path, name, value, Buffer.byteLength(value)]) as number;
}

/** A unix datagram socket pair (close-on-exec), e.g. to receive a pty master. */
export function socketPair(): { rc: number; fds: [number, number] } {
  const out = Buffer.alloc(8);
  const rc = fns().nsbox_socketpair([out]) as number;
  return { rc, fds: [out.readInt32LE(0), out.readInt32LE(4)] };
}

/** A unix stream socket pair (close-on-exec): one end can become a net.Socket. */
export function streamSocketPair(): { rc: number; fds: [number, number] } {
  const out = Buffer.alloc(8);
  const rc = fns().nsbox_stream_socketpair([out]) as number;
  return { rc, fds: [out.readInt32LE(0), out.readInt32LE(4)] };
}

/** One fd received with SCM_RIGHTS, or -errno; never blocks. */
export function receiveFd(sock: number): number {
  return fns().nsbox_recv_fd([sock]) as number;
}

/** Opens dir/rel read-only without following any symlink on the way; fd or -errno. */
export function openBeneath(dir: string, rel: string): number {
  return fns().nsbox_open_beneath([dir, rel]) as number;
}

/** Opens `path` with `rootfd` as its root (links followed inside it, never out; openat2 RESOLVE_IN_ROOT); fd or -errno. */
export function openInRoot(rootfd: number, path: string, flags: number, mode = 0): number {
  return fns().nsbox_open_in_root([rootfd, path, flags, mode]) as number;
}
