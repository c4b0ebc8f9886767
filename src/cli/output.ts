// The CLI's text goes straight to fds 1 and 2 with write(2). Touching
// process.stdout builds a stream for it first, and for a pipe or terminal
// that loads node:net (~3.5 ms of a ~10 ms verb). A slow reader slows us
// instead of piling output up in memory.
import { writeSync } from 'node:fs';

const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** The reader of fd 1 or 2 went away (`nsbox logs | head`). */
export class ReaderGone extends Error {}

/** Writes all of `data` to `fd`, waiting out a full non-blocking pipe or terminal; throws ReaderGone on EPIPE. */
export function writeAll(fd: number, data: string | Buffer): void {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  for (let done = 0; done < buf.length; ) {
    try {
      done += writeSync(fd, buf, done);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') throw new ReaderGone();
      if (code !== 'EAGAIN') throw err;
      Atomics.wait(PAUSE, 0, 0, 2); // let the reader catch up
    }
  }
}

/** Output (fd 1); once its reader is gone the rest is dropped, as nobody reads it. */
export function writeOut(text: string): void {
  try {
    writeAll(1, text);
  } catch (err) {
    if (!(err instanceof ReaderGone)) throw err;
  }
}

/** Messages (fd 2), the same way. */
export function writeErr(text: string): void {
  try {
    writeAll(2, text);
  } catch (err) {
    if (!(err instanceof ReaderGone)) throw err;
  }
}
