// Runs a command inside a pod: the shim joins the pause's namespaces (user
// first, one setns with its pidfd) and clones the command as our child, in
// the pod's PID namespace. We reap it and report its real exit status.
import type { Socket } from 'node:net';
import { NsboxError } from '../errors.js';
import { Errno, errnoName } from '../core/errno.js';
import { closeFd, pipe } from '../native/ffi.js';
import { runPlan, SpawnFailure } from '../native/spawn.js';
import { reaper } from '../native/reaper.js';
import { shellExitCode, type ExitStatus } from '../core/wait-status.js';
import { DEFAULT_PATH } from './plans.js';
import type { SpawnPlan } from '../native/plan.js';

export interface ExecOptions {
  /** Extra environment, as {K: V} or ["K=V"]. */
  env?: Record<string, string> | string[];
  /** Working directory inside the pod (default /). */
  cwd?: string;
  /** Data written to the command's stdin; without it stdin is /dev/null. */
  stdin?: string | Buffer;
  /** Kill it (SIGKILL) after this long; the result then says timedOut. */
  timeoutMs?: number;
}

export interface ExecResult {
  /** As a shell reports it: the code, 128+N for signal N, 127/126 if it could not be executed. */
  exitCode: number;
  /** The signal that killed it, or null. */
  signal: number | null;
  stdout: string;
  stderr: string;
  /** The same output as bytes, for binary output (the strings are UTF-8 decoded). */
  stdoutBytes: Buffer;
  stderrBytes: Buffer;
  /** It ran past timeoutMs and was killed. */
  timedOut: boolean;
}

/** Exit codes of podman/docker for commands that cannot be executed. */
export function execFailureExitCode(errno: number): number {
  return errno === Errno.ENOENT || errno === Errno.ENOTDIR ? 127 : 126;
}

export function execFailureMessage(file: string, errno: number): string {
  if (errno === Errno.ENOENT || errno === Errno.ENOTDIR)
    return file.includes('/') ? `${file}: no such file or directory` : `executable file \`${file}\` not found in $PATH`;
  if (errno === Errno.EACCES) return `${file}: permission denied (not executable, or a directory)`;
  if (errno === Errno.ENOEXEC) return `${file}: exec format error`;
  if (errno === Errno.E2BIG) return `${file}: arguments and environment too large (E2BIG): pass fewer or smaller -e/--env-file values (the kernel allows 128 KiB per string, about 1/4 of the stack limit in all)`;
  return `${file}: cannot execute (${errnoName(errno)})`;
}

export class ExecFailure extends NsboxError {
  constructor(
    readonly file: string,
    readonly errno: number,
  ) {
    super('EXEC_FAILED', execFailureMessage(file, errno));
  }
  get exitCode(): number {
    return execFailureExitCode(this.errno);
  }
}

export function buildEnv(base: Record<string, string>, extra: ExecOptions['env']): string[] {
  const env = new Map(Object.entries({ PATH: DEFAULT_PATH, ...base }));
  const pairs = Array.isArray(extra) ? extra.map((e) => [e.slice(0, e.indexOf('=') < 0 ? e.length : e.indexOf('=')), e.slice(e.indexOf('=') + 1)]) : Object.entries(extra ?? {});
  for (const [k, v] of pairs) {
    if (!k) throw new NsboxError('INVALID_ENV', `invalid environment entry ${JSON.stringify(k + '=' + v)}`, 'use KEY=VALUE');
    env.set(k, v ?? '');
  }
  return [...env].map(([k, v]) => `${k}=${v}`);
}

/** Starts a command plan; resolves to its pid. Throws ExecFailure when it cannot be executed. */
export async function spawnCommand(plan: SpawnPlan, opts: { blocking?: boolean } = {}): Promise<number> {
  try {
    return await runPlan(plan, opts);
  } catch (err) {
    throw execFailureOf(err);
  }
}

/** What a failed spawn of a command means to its caller: the command (126/127), its working directory, or the spawn itself. */
export function execFailureOf(err: unknown): unknown {
  const step = err instanceof SpawnFailure ? err.failedStep : null;
  if (step?.op === 'exec') return new ExecFailure(step.file, (err as SpawnFailure).errno);
  if (step?.op === 'chdir') {
    const errno = (err as SpawnFailure).errno;
    if (errno === Errno.ENOENT || errno === Errno.ENOTDIR) return new NsboxError('EXEC_FAILED', `working directory ${step.path} does not exist`, 'pass an existing directory with -w');
    return new NsboxError('EXEC_FAILED', `cannot enter working directory ${step.path}: ${errnoName(errno)}`, errno === Errno.ELOOP ? 'it leads through a /proc link such as /proc/1/root, which nsbox never follows' : 'pass a directory the user may enter with -w');
  }
  return err;
}

function collect(SocketClass: typeof Socket, fd: number): { socket: Socket; done: Promise<Buffer> } {
  const socket = new SocketClass({ fd, readable: true, writable: false });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve) => {
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => resolve(Buffer.concat(chunks)));
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
  return { socket, done };
}

/** Runs a command plan (built for the given stdio fds) to completion with captured output. */
export async function execCaptured(opts: ExecOptions, planFor: (stdio: [number, number, number]) => SpawnPlan): Promise<ExecResult> {
  const out = pipe();
  const errPipe = pipe();
  const input = opts.stdin !== undefined ? pipe() : null;
  const opened = [out, errPipe, input].filter((p): p is ReturnType<typeof pipe> => !!p);
  const failed = opened.find((p) => p.rc < 0);
  if (failed) {
    for (const p of opened) if (p.rc === 0) (closeFd(p.read), closeFd(p.write));
    throw new NsboxError('PIPE', `pipe2: ${errnoName(-failed.rc)}`, 'too many open files? raise `ulimit -n`');
  }
  let pid: number;
  try {
    pid = await spawnCommand(planFor([input ? input.read : -1, out.write, errPipe.write]));
  } catch (err) {
    for (const p of opened) (closeFd(p.read), closeFd(p.write));
    if (err instanceof ExecFailure) {
      const stderr = `nsbox: ${err.message}\n`;
      return { exitCode: err.exitCode, signal: null, stdout: '', stderr, stdoutBytes: Buffer.alloc(0), stderrBytes: Buffer.from(stderr), timedOut: false };
    }
    throw err;
  }
  closeFd(out.write);
  closeFd(errPipe.write);
  // node:net only here: the CLI's exec (inherited stdio) never loads it.
  const { Socket } = await import('node:net');
  const stdout = collect(Socket, out.read);
  const stderr = collect(Socket, errPipe.read);
  if (input) {
    closeFd(input.read);
    const sink = new Socket({ fd: input.write, readable: false, writable: true });
    sink.on('error', () => {}); // the command may exit without reading
    sink.end(opts.stdin ?? '');
  }
  let timedOut = false;
  const timer =
    opts.timeoutMs !== undefined
      ? setTimeout(() => {
          timedOut = true;
          process.kill(pid, 'SIGKILL'); // our unreaped child: the pid cannot be another's yet
        }, opts.timeoutMs)
      : null;
  const status: ExitStatus = await reaper.wait(pid);
  if (timer) clearTimeout(timer);
  const [so, se] = await Promise.all([stdout.done, stderr.done]);
  return { exitCode: shellExitCode(status), signal: status.signal, stdout: so.toString('utf8'), stderr: se.toString('utf8'), stdoutBytes: so, stderrBytes: se, timedOut };
}
