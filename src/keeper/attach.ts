// The keeper's attach stream (native-shims/keeper/main.c): after `attach
// NAME FLAGS` is answered, the connection carries frames both ways, each a
// u32 length (little-endian) then a kind byte then data. From the keeper:
// 1 stdout, 2 stderr, 'x' the exit code (then it closes). To it: 'd' input,
// 'e' end of input (closes the container's stdin pipe), 'w' u16 rows, u16
// cols (a terminal's size).
import type { Socket } from 'node:net';
import { NsboxError } from '../errors.js';
import { frame, FrameReader } from './frames.js';
import { okWords, reachable } from './client.js';

export const ATTACH_FLAGS = { stdin: 1, stdout: 2, stderr: 4 } as const;

export interface KeeperStream {
  /** The container's stdio as the keeper holds it: 0 /dev/null, 1 a pipe, 2 a terminal. */
  mode: number;
  /** How many bytes its log had when the stream began (-1: it had not started): output after that is streamed. */
  logSize: number;
  send(kind: 'd' | 'e' | 'w', data?: Buffer): void;
  /** Ends the stream (a detach: the container's stdin stays open). */
  close(): void;
}

export interface StreamHandlers {
  output(stream: 1 | 2, data: Buffer): void;
  /** The container exited (code), or the stream ended without saying (null: closed, or the keeper went away). */
  end(code: number | null): void;
}

/** One frame of the attach stream, as an attacher sends it. */
export function attachFrame(kind: 'd' | 'e' | 'w', data: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32LE(data.length + 1);
  head[4] = kind.charCodeAt(0);
  return Buffer.concat([head, data]);
}

export async function openKeeperStream(socketPath: string, name: string, flags: number, on: StreamHandlers): Promise<KeeperStream> {
  const { connect } = await import('node:net');
  const reach = reachable(socketPath);
  const sock: Socket = connect(reach.path);
  sock.once('connect', reach.done);
  sock.once('error', reach.done);
  const answer = await new Promise<{ line: string; rest: Buffer }>((resolve, reject) => {
    const reader = new FrameReader();
    let got = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      const line = reader.push(d);
      if (line === null) return;
      sock.off('data', onData);
      sock.pause();
      resolve({ line, rest: got.subarray(4 + Buffer.byteLength(line)) });
    };
    sock.on('data', onData);
    sock.once('error', (err) => reject(new NsboxError('KEEPER_UNREACHABLE', `cannot reach the pod's keeper: ${err.message}`, 'check the pod with `nsbox pod ls`')));
    sock.once('close', () => reject(new NsboxError('KEEPER_UNREACHABLE', "the pod's keeper closed the connection without an answer: it may have died", 'check the pod with `nsbox pod ls`')));
    sock.write(frame(`attach ${name} ${flags}`));
  });
  sock.removeAllListeners('error').removeAllListeners('close');
  let words: string[];
  try {
    words = okWords(answer.line, 'attach');
  } catch (err) {
    sock.destroy();
    throw err;
  }
  let buf = answer.rest;
  let code: number | null = null;
  let ended = false;
  const finish = () => {
    if (ended) return;
    ended = true;
    on.end(code);
  };
  const take = (d: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32LE(0)) {
      const len = buf.readUInt32LE(0);
      const kind = buf[4];
      const data = buf.subarray(5, 4 + len);
      buf = buf.subarray(4 + len);
      if (kind === 1 || kind === 2) on.output(kind, Buffer.from(data));
      else if (kind === 0x78) code = Number(data.toString('latin1'));
    }
  };
  sock.on('data', take);
  sock.on('error', () => {});
  sock.on('close', finish);
  if (buf.length) {
    const first = buf;
    buf = Buffer.alloc(0);
    take(first);
  }
  sock.resume();
  return {
    mode: Number(words[0]),
    logSize: Number(words[1]),
    send(kind, data) {
      // After the exit frame nothing is read: a write could only fail (EPIPE) and take the unread rest with it.
      if (!sock.destroyed && code === null) sock.write(attachFrame(kind, data));
    },
    close() {
      sock.end();
      sock.destroy();
    },
  };
}

/** A terminal's size as the 'w' frame carries it. */
export function windowSize(cols: number, rows: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16LE(rows, 0);
  b.writeUInt16LE(cols, 2);
  return b;
}
