// Sends one request to a pod's keeper and waits for its one-line answer.
import { closeSync, openSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { NsboxError } from '../errors.js';
import { frame, FrameReader } from './frames.js';

const MAX_SOCKET_PATH = 107;

/** A unix socket path is at most 107 bytes: a deeper one is reached through an fd of its directory (kept until connected). */
export function reachable(socketPath: string): { path: string; done: () => void } {
  if (Buffer.byteLength(socketPath) <= MAX_SOCKET_PATH) return { path: socketPath, done: () => {} };
  let fd = -1;
  try {
    fd = openSync(dirname(socketPath), 'r');
  } catch {
    return { path: socketPath, done: () => {} }; // connect then fails with the reason
  }
  let open = true;
  return {
    path: `/proc/self/fd/${fd}/${basename(socketPath)}`,
    done: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/** untilClosed: after an `ok`, resolve once the keeper has closed the connection too (it exits after answering podstop); any other answer at once. */
export async function requestKeeper(socketPath: string, line: string, opts: { data?: Buffer; timeoutMs?: number; untilClosed?: boolean } = {}): Promise<string> {
  // Loaded here, not at the top: a bundled CLI would otherwise load node:net on every start.
  const { connect } = await import('node:net');
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const reach = reachable(socketPath);
  return new Promise((resolve, reject) => {
    const sock = connect(reach.path);
    sock.once('connect', reach.done);
    sock.once('error', reach.done);
    const reader = new FrameReader();
    let done = false;
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      fn();
    };
    const timer = setTimeout(() => finish(() => reject(new NsboxError('KEEPER_TIMEOUT', `the pod's keeper did not answer ${line.split(' ')[0]} within ${timeoutMs} ms`))), timeoutMs);
    sock.on('connect', () => sock.write(frame(line, opts.data)));
    let answered: string | null = null;
    sock.on('data', (d: Buffer) => {
      const answer = answered === null ? reader.push(d) : null;
      if (answer === null) return;
      if (opts.untilClosed && answer.split(' ')[0] === 'ok') answered = answer;
      else finish(() => resolve(answer));
    });
    sock.on('error', (err: NodeJS.ErrnoException) =>
      finish(() => reject(Object.assign(new NsboxError('KEEPER_UNREACHABLE', `cannot reach the pod's keeper: ${err.message}`, 'check the pod with `nsbox pod ls`'), { cause: err.code }))),
    );
    sock.on('close', () => finish(() => (answered !== null ? resolve(answered) : reject(new NsboxError('KEEPER_UNREACHABLE', "the pod's keeper closed the connection without an answer: it may have died", 'check the pod with `nsbox pod ls`')))));
  });
}

/** An answer that is not `ok ...` as an error; an `ok` answer's words. */
export function okWords(answer: string, what: string): string[] {
  const words = answer.split(' ');
  if (words[0] === 'ok') return words.slice(1);
  if (answer.startsWith('err protocol'))
    throw new NsboxError('KEEPER_PROTOCOL', `the pod's keeper speaks another protocol (${answer.replace(/^err protocol: /, '')}): the pod was made by another version of nsbox`, 'remove it with `nsbox pod rm -f POD` and create it again');
  throw new NsboxError('KEEPER_REFUSED', `the pod's keeper refused ${what}: ${answer.replace(/^err /, '')}`, 'check the pod and its containers with `nsbox pod ls` and `nsbox ps -a`');
}
