// `exec` without -t: the command gets pipes of its own, never our stdio
// fds (a process in the pod could reopen those through /proc/PID/fd and
// reach the user's terminal after the exec ended). We copy between the
// pipes and our stdio.
import { Socket } from 'node:net';
import { NsboxError } from '../errors.js';
import { errnoName } from '../core/errno.js';
import { closeFd, pipe } from '../native/ffi.js';

/** How long output may still arrive after the command exited (a background child may hold the pipe). */
const DRAIN_GRACE_MS = 250;

export interface RelayedStdio {
  /** For the command's stdin, stdout, stderr (-1: /dev/null). */
  childFds: [number, number, number];
  /** Once the command runs: our ends start copying, its ends are closed here. */
  started(): void;
  /** Once the command exited: the rest of its output, then everything closed. */
  finish(): Promise<void>;
  close(): void;
}

type Pipe = ReturnType<typeof pipe>;

function openPipes(count: number): Pipe[] {
  const pipes = Array.from({ length: count }, () => pipe());
  const failed = pipes.find((p) => p.rc < 0);
  if (failed) {
    for (const p of pipes) if (p.rc === 0) (closeFd(p.read), closeFd(p.write));
    throw new NsboxError('PIPE', `pipe2: ${errnoName(-failed.rc)}`, 'too many open files? raise `ulimit -n`');
  }
  return pipes;
}

function ended(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    socket.once('end', resolve);
    socket.once('close', resolve);
    socket.once('error', () => resolve());
  });
}

export function relayStdio(interactive: boolean): RelayedStdio {
  const [out, err, input] = openPipes(interactive ? 3 : 2) as [Pipe, Pipe, Pipe | undefined];
  const sockets: Socket[] = [];
  let outputDone: Promise<unknown> = Promise.resolve();
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    for (const s of sockets) s.destroy();
    if (input) process.stdin.unpipe();
    if (interactive) process.stdin.destroy();
  };
  return {
    childFds: [input ? input.read : -1, out.write, err.write],
    started() {
      closeFd(out.write);
      closeFd(err.write);
      const stdout = new Socket({ fd: out.read, readable: true, writable: false });
      const stderr = new Socket({ fd: err.read, readable: true, writable: false });
      stdout.pipe(process.stdout, { end: false });
      stderr.pipe(process.stderr, { end: false });
      sockets.push(stdout, stderr);
      outputDone = Promise.all([ended(stdout), ended(stderr)]);
      if (input) {
        closeFd(input.read);
        const sink = new Socket({ fd: input.write, readable: false, writable: true });
        sink.on('error', () => {}); // the command may exit without reading
        process.stdin.pipe(sink);
        sockets.push(sink);
      }
    },
    async finish() {
      await Promise.race([outputDone, new Promise((r) => setTimeout(r, DRAIN_GRACE_MS).unref())]);
      close();
    },
    close() {
      if (sockets.length === 0) for (const p of [out, err, input]) if (p) (closeFd(p.read), closeFd(p.write));
      close();
    },
  };
}

/** Signals a user or a CI runner sends us go on to the command (it is in its own session). */
export function forwardSignals(pid: number): () => void {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
  const handlers = signals.map((sig) => {
    const h = () => {
      try {
        process.kill(pid, sig); // our own unreaped child: the pid cannot be reused yet
      } catch {
        // it has exited
      }
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  return () => {
    for (const [sig, h] of handlers) process.off(sig, h);
  };
}
