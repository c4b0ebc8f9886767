// container.attach(): a live view of a container of a detached pod, as
// docker's attach gives it: its output as it comes (and, with `logs`, what
// its log had before), its stdin, its terminal's size, and its exit code.
// The pod's keeper holds the container's stdin pipe or terminal master and
// relays; nothing of this process (its terminal, its fds) enters the pod.
import { openSync, readSync, closeSync } from 'node:fs';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { NsboxError } from '../errors.js';
import { ATTACH_FLAGS, openKeeperStream, windowSize, type KeeperStream } from '../keeper/attach.js';
import { STDIO_MODE } from '../keeper/containers.js';
import { statePaths } from '../state/paths.js';
import type { Container } from './container.js';

export { DEFAULT_DETACH_KEYS, DetachWatcher, parseDetachKeys } from '../core/detach-keys.js';

export interface AttachOptions {
  /** Write to its stdin (it must have been run with openStdin). Default: true when it has one. */
  stdin?: boolean;
  /** Default true. */
  stdout?: boolean;
  stderr?: boolean;
  /** First what its log holds so far (docker's logs=1); the live output follows without a gap or a repeat. */
  logs?: boolean;
  /** Whether ending `stdin` closes the container's stdin; default its StdinOnce (docker's rule). */
  closeStdinOnEnd?: boolean;
  /** Each piece of output, in the order it came (for a multiplexed stream); a terminal's output is all 'stdout'. */
  onOutput?: (stream: 'stdout' | 'stderr', data: Buffer) => void;
}

export interface Attachment {
  /** It has a terminal: its output is one stream, raw. */
  tty: boolean;
  /** Its stdin (null when not attached): end() closes it when closeStdinOnEnd says so. */
  stdin: Writable | null;
  /** All its output, in order (output, stdout and stderr carry what comes after they are first read: take them at once). */
  output: Readable;
  /** Its stdout and stderr apart (with a terminal, stdout is all and stderr is empty). */
  stdout: Readable;
  stderr: Readable;
  /** Its terminal's window size (nothing without one). */
  resize(cols: number, rows: number): void;
  /** Detaches: the container goes on running, its stdin stays open. */
  close(): void;
  /** Its exit code once it has exited; null when the attachment ended first (close(), or the pod went away). */
  exited: Promise<number | null>;
}

/** The log's entries in its first `bytes` bytes (what was written before the stream began). */
type Piece = { stream: 'stdout' | 'stderr'; data: Buffer };

function logBefore(path: string, bytes: number): Piece[] {
  if (bytes <= 0) return [];
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return [];
  }
  try {
    const buf = Buffer.alloc(bytes);
    const n = readSync(fd, buf, 0, bytes, 0);
    return buf
      .subarray(0, n)
      .toString('utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l): Piece[] => {
        try {
          const e = JSON.parse(l) as { log: string; stream: string };
          return [{ stream: e.stream === 'stderr' ? 'stderr' : 'stdout', data: Buffer.from(e.log, 'utf8') }];
        } catch {
          return [];
        }
      });
  } finally {
    closeSync(fd);
  }
}

/** The exit code the container's record shows within a moment, or null (it runs on, or its pod went away). */
async function exitCodeFromRecord(c: Container): Promise<number | null> {
  for (let i = 0; i < 100; i++) {
    try {
      const r = c.record();
      if (c.state(r) === 'exited' && r.exitCode !== null) return r.exitCode;
    } catch {
      return null;
    }
    await new Promise((ok) => setTimeout(ok, 20));
  }
  return null;
}

export async function attachContainer(c: Container, opts: AttachOptions = {}): Promise<Attachment> {
  if (c.pod.isLocal) throw new NsboxError('NOT_DETACHED', `cannot attach to ${c.ref}: its pod is run by this process, not by a keeper`, 'create the pod with `detached: true` (the CLI does), or pass stdin at run time');
  const r = c.record();
  const state = c.state(r);
  if (state === 'exited') throw new NsboxError('CONTAINER_STATE', `cannot attach to container ${c.ref}: it is exited`, `start it with \`nsbox start ${c.ref}\`, or read its output with \`nsbox logs ${c.ref}\``);
  const wantStdin = opts.stdin ?? !!r.openStdin;
  if (wantStdin && !r.openStdin && !r.tty) throw new NsboxError('INVALID_ARGUMENT', `cannot attach to the stdin of ${c.ref}: it was run without -i (openStdin)`, `attach without stdin (\`nsbox attach --no-stdin ${c.ref}\`), or run it with -i`);
  const flags = (wantStdin ? ATTACH_FLAGS.stdin : 0) | (opts.stdout !== false ? ATTACH_FLAGS.stdout : 0) | (opts.stderr !== false ? ATTACH_FLAGS.stderr : 0);
  // Made when first asked for: output nobody reads is not held in memory.
  const streams = new Map<'output' | 'stdout' | 'stderr', PassThrough>();
  let over = false;
  const streamOf = (which: 'output' | 'stdout' | 'stderr'): PassThrough => {
    let s = streams.get(which);
    if (!s) (s = new PassThrough()), streams.set(which, s), over && s.end();
    return s;
  };
  const deliver = (stream: 'stdout' | 'stderr', data: Buffer) => {
    opts.onOutput?.(stream, data);
    streams.get('output')?.write(data);
    streams.get(stream)?.write(data);
  };
  let settle!: (code: number | null) => void;
  const exited = new Promise<number | null>((resolve) => (settle = resolve));
  let early: Buffer[] | null = [];
  let earlyStreams: ('stdout' | 'stderr')[] = [];
  let endCode: number | null | undefined; // the stream ended before the log was read: ended after it
  let closedByUs = false;
  const endAll = (code: number | null) => {
    over = true;
    for (const s of streams.values()) s.end();
    // The stream ended without the keeper's exit frame though nobody detached (the keeper was
    // killed, or dropped a reader that took no output for a second): its record may hold the code.
    if (code === null && !closedByUs) void exitCodeFromRecord(c).then(settle);
    else settle(code);
  };
  let stream: KeeperStream;
  try {
    stream = await openKeeperStream(statePaths.podSocket(c.pod.root, c.pod.id), c.name, flags, {
      output(which, data) {
        const name = which === 2 ? 'stderr' : 'stdout';
        if (early) (early.push(data), earlyStreams.push(name));
        else deliver(name, data);
      },
      end(code) {
        if (early) endCode = code;
        else endAll(code);
      },
    });
  } catch (err) {
    if (err instanceof NsboxError && err.code === 'KEEPER_REFUSED' && err.message.endsWith('exited'))
      throw new NsboxError('CONTAINER_STATE', `cannot attach to container ${c.ref}: it is exited`, `start it with \`nsbox start ${c.ref}\``);
    throw err;
  }
  // What the log had before the stream began comes first, then what came meanwhile; once the caller has taken its streams.
  const before = opts.logs ? logBefore(c.paths().log, stream.logSize) : [];
  setImmediate(() => {
    for (const e of before) deliver(e.stream, e.data);
    const pending = early ?? [];
    const pendingStreams = earlyStreams;
    early = null;
    earlyStreams = [];
    pending.forEach((d, i) => deliver(pendingStreams[i]!, d));
    if (endCode !== undefined) endAll(endCode);
  });
  const closeOnEnd = opts.closeStdinOnEnd ?? !!r.stdinOnce;
  const stdin = wantStdin
    ? new Writable({
        write(chunk: Buffer, _enc, cb) {
          stream.send('d', chunk);
          cb();
        },
        final(cb) {
          if (closeOnEnd) stream.send('e');
          cb();
        },
      })
    : null;
  return {
    tty: stream.mode === STDIO_MODE.tty,
    stdin,
    get output() {
      return streamOf('output');
    },
    get stdout() {
      return streamOf('stdout');
    },
    get stderr() {
      return streamOf('stderr');
    },
    resize(cols, rows) {
      stream.send('w', windowSize(cols, rows));
    },
    close() {
      closedByUs = true;
      stream.close();
    },
    exited,
  };
}
