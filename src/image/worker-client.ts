// Starts extract-worker.js as root of a user namespace with this user's id
// mapping, hands it a job on stdin and relays what it reports.
import { existsSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { NsboxError } from '../errors.js';
import { errnoName } from '../core/errno.js';
import { removeTreeAsOwner } from '../idmap/remove-tree.js';
import { spawnInUserns } from '../idmap/userns-process.js';
import { artifacts, requireArtifact } from '../native/artifacts.js';
import { closeFd, pipe } from '../native/ffi.js';
import type { WorkerJob, WorkerMessage } from './worker-protocol.js';

export const workerScript = join(artifacts.packageRoot, 'dist', 'image', 'extract-worker.js');

function openPipe(): { read: number; write: number } {
  const p = pipe();
  if (p.rc < 0) throw new NsboxError('PIPE', `pipe2: ${errnoName(-p.rc)}`, 'too many open files? raise `ulimit -n`');
  return p;
}

function workerEnv(): string[] {
  const env = ['PATH=/usr/local/bin:/usr/bin:/bin', 'LANG=C.UTF-8'];
  if (process.env.NSBOX_DEBUG) env.push('NSBOX_DEBUG=1');
  return env;
}

/** Sends one frame of a layer's bytes to an 'extract-stream' worker; an empty chunk ends the layer. Resolves when the pipe takes more. */
export type FrameWriter = (index: number, chunk: Buffer) => Promise<void>;

/**
 * Runs one job to completion; onMessage sees progress and results; a
 * reported error is thrown. `feed` (for 'extract-stream') writes the layers'
 * bytes; if it fails, the worker is ended and feed's error is thrown.
 */
export async function runWorker(job: WorkerJob, onMessage: (m: WorkerMessage) => void, feed?: (write: FrameWriter) => Promise<void>): Promise<void> {
  requireArtifact(workerScript); // a one-line error with the fix that fits a checkout or an installed package
  const input = openPipe();
  let output: { read: number; write: number };
  try {
    output = openPipe();
  } catch (err) {
    closeFd(input.read), closeFd(input.write);
    throw err;
  }
  let child: Awaited<ReturnType<typeof spawnInUserns>>;
  try {
    child = await spawnInUserns({ argv: [process.execPath, workerScript], env: workerEnv(), stdio: [input.read, output.write, output.write] });
  } catch (err) {
    for (const fd of [input.read, input.write, output.read, output.write]) closeFd(fd);
    throw err;
  }
  closeFd(input.read);
  closeFd(output.write);

  const sink = new Socket({ fd: input.write, readable: false, writable: true });
  let sinkClosed = false;
  sink.on('error', () => {}); // the worker may die before reading
  sink.on('close', () => (sinkClosed = true));
  let fed: Promise<unknown> = Promise.resolve();
  let feedError: unknown = null;
  if (!feed) sink.end(JSON.stringify(job) + '\n');
  else {
    sink.write(JSON.stringify(job) + '\n');
    const write: FrameWriter = async (index, chunk) => {
      if (sinkClosed) throw new NsboxError('WORKER_GONE', 'the image worker stopped reading', 'run again with --debug');
      const header = Buffer.alloc(8);
      header.writeUInt32LE(index, 0);
      header.writeUInt32LE(chunk.length, 4);
      sink.write(header);
      if (chunk.length && !sink.write(chunk) && !sinkClosed)
        await new Promise<void>((r) => {
          const done = () => {
            sink.off('drain', done);
            sink.off('close', done);
            r();
          };
          sink.on('drain', done);
          sink.on('close', done);
        });
    };
    fed = feed(write).then(
      () => sink.end(),
      (err: unknown) => {
        feedError = err;
        // The worker must not finish what was not verified: end it now.
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
        sink.destroy();
      },
    );
  }

  let reported: NsboxError | null = null;
  const other: string[] = [];
  const source = new Socket({ fd: output.read, readable: true, writable: false });
  let pending = '';
  const onLine = (line: string) => {
    if (!line) return;
    let msg: WorkerMessage | null = null;
    if (line.startsWith('{')) {
      try {
        msg = JSON.parse(line) as WorkerMessage;
      } catch {
        msg = null;
      }
    }
    if (!msg) return void other.push(line);
    if (msg.t === 'error') reported ??= new NsboxError(msg.code, msg.message, msg.hint);
    else onMessage(msg);
  };
  const closed = new Promise<void>((resolve) => {
    source.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        try {
          onLine(line);
        } catch (err) {
          reported ??= err instanceof NsboxError ? err : new NsboxError('IMAGE_WORKER', String(err));
        }
      }
    });
    source.on('error', () => resolve());
    source.on('close', () => resolve());
  });
  const status = await child.exit;
  sinkClosed = true;
  sink.destroy();
  await fed;
  await closed;
  if (pending) onLine(pending);
  // The worker's own report says more than "it stopped reading".
  if (feedError && !(reported && feedError instanceof NsboxError && feedError.code === 'WORKER_GONE')) throw feedError;
  if (reported) throw reported;
  if (status.code !== 0) {
    const last = other.filter((l) => l.trim()).slice(-1)[0] ?? '';
    const how = status.signal !== null ? `killed by signal ${status.signal}` : `exit ${status.code}`;
    throw new NsboxError('IMAGE_WORKER', `the image worker failed (${how})${last ? `: ${last.trim()}` : ''}`, 'run again with --debug for details');
  }
}

/** Removes a tree that may hold files of other (mapped) ids (see removeTreeAsOwner). */
export async function removeTree(path: string): Promise<void> {
  if (!existsSync(path)) return;
  await removeTreeAsOwner(path);
}
