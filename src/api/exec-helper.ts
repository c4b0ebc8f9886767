// An exec started from the nsbox-exec helper (native-shims/exec.c) instead
// of this process, so that a CLI call loads no FFI addon: the helper opens
// the pidfd of the target (checked against its start time), runs the plan,
// is the command's parent and passes our signals on. The command gets pipes
// of the helper's, which it copies to and from its stdio: channels Node
// makes for it, never our own terminal. fd 3 is the control socket: the plan
// goes in, the spawn's result and the wait status come back.
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { NsboxError } from '../errors.js';
import { decodeResult } from '../native/ffi.js';
import { artifacts, requireArtifact } from '../native/artifacts.js';
import { encodePlan, describePlan } from '../native/plan.js';
import { spawnFailure } from '../native/spawn.js';
import { decodeWaitStatus, shellExitCode } from '../core/wait-status.js';
import { execFailureOf } from '../pod/exec.js';
import { ended, type ExecRequest, type ExecSession, type ExecTarget } from './exec.js';

/** The helper's fds for the plan: the target's pidfd, the host program it was handed, the command's pipe ends. */
const TARGET_FD = 4;
const PROGRAM_FD = 5;
const COMMAND_STDIO: [number, number, number] = [6, 7, 8];
const RESULT_BYTES = 36;

/** Reads the control socket's replies: "G", or "R" + the result, then "W" + the wait status. */
function replies(control: Socket) {
  let buf = Buffer.alloc(0);
  let wanted: { size: number; resolve: (b: Buffer | null) => void } | null = null;
  let ended = false;
  const pump = () => {
    if (wanted && buf.length >= wanted.size) {
      const w = wanted;
      wanted = null;
      const out = buf.subarray(0, w.size);
      buf = buf.subarray(w.size);
      w.resolve(out);
    } else if (wanted && ended) {
      const w = wanted;
      wanted = null;
      w.resolve(null);
    }
  };
  control.on('data', (d: Buffer) => ((buf = Buffer.concat([buf, d])), pump()));
  control.on('end', () => ((ended = true), pump()));
  control.on('close', () => ((ended = true), pump()));
  control.on('error', () => ((ended = true), pump()));
  return (size: number) => new Promise<Buffer | null>((resolve) => ((wanted = { size, resolve }), pump()));
}

export async function openExecViaHelper(req: ExecRequest, target: ExecTarget): Promise<ExecSession> {
  const helper = requireArtifact(artifacts.execHelper);
  const interactive = !!req.stdin && !req.detach;
  const stdioFds: [number, number, number] = req.detach ? [-1, -1, -1] : [interactive ? COMMAND_STDIO[0] : -1, COMMAND_STDIO[1], COMMAND_STDIO[2]];
  const plan = target.plan(TARGET_FD, { fds: stdioFds }, target.execFd === undefined ? undefined : PROGRAM_FD);
  if (req.detach) plan.child.unshift({ op: 'daemonize' });
  if (process.env.NSBOX_DEBUG) process.stderr.write(`nsbox: plan (run by ${helper})\n${describePlan(plan)}\n`);
  const encoded = encodePlan(plan);
  const stdio: ('pipe' | 'ignore' | number)[] = [interactive ? 'pipe' : 'ignore', req.detach ? 'ignore' : 'pipe', req.detach ? 'ignore' : 'pipe', 'pipe', 'ignore', target.execFd ?? 'ignore'];
  let child;
  try {
    child = spawn(helper, [], { stdio });
  } finally {
    target.release(); // the helper has its own copy of the program's fd
  }
  const exitedHelper = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const spawnError = new Promise<never>((_, reject) => child.once('error', (e) => reject(new NsboxError('EXEC_HELPER', `cannot start ${helper}: ${e.message}`, 'rebuild the native shims (`npm run build`, or `npm rebuild nsbox`)'))));
  spawnError.catch(() => {}); // raced below; later errors (a kill of an exited helper) are nobody's
  const control = child.stdio[3] as Socket;
  const next = replies(control);
  control.write(`${target.identity.pid} ${target.identity.startTime} ${encoded.length} ${interactive ? 1 : 0}\n`);
  control.write(encoded);
  const tag = await Promise.race([next(1), spawnError]);
  if (tag?.toString() === 'G') throw target.gone();
  const raw = tag?.toString() === 'R' ? await next(RESULT_BYTES) : null;
  if (!raw) throw new NsboxError('EXEC_HELPER', `${helper} ended before it ran the command`, 'run `nsbox check`: is the native build intact?');
  const result = decodeResult(0, raw);
  if (result.section >= 0) throw execFailureOf(spawnFailure(plan, result));
  const waited = (async () => {
    const w = await next(1);
    const status = w?.toString() === 'W' ? await next(4) : null;
    await exitedHelper;
    // No status: the helper was killed, and took the command's status with it.
    return status ? decodeWaitStatus(status.readInt32LE(0)) : { code: null, signal: 9 };
  })();
  const signal = (sig: NodeJS.Signals) => {
    try {
      child.kill(sig);
    } catch {
      // it has exited
    }
  };
  if (req.detach) return { pid: result.pid, stdout: null, stderr: null, stdin: null, terminal: null, signal, wait: async () => shellExitCode(await waited) };
  const stdout = child.stdout as unknown as Socket;
  const stderr = child.stderr as unknown as Socket;
  const stdin = interactive ? (child.stdin as unknown as Socket) : null;
  stdin?.on('error', () => {}); // the command may exit without reading
  // The helper drains the command's output (a while after its exit, for a background child holding the pipes) before it reports the status.
  const outputDone = Promise.all([ended(stdout), ended(stderr)]);
  return {
    pid: result.pid,
    stdout,
    stderr,
    stdin,
    terminal: null,
    signal,
    async wait() {
      const status = await waited;
      await outputDone;
      for (const s of [stdout, stderr, stdin]) s?.destroy();
      control.destroy();
      return shellExitCode(status);
    },
  };
}
