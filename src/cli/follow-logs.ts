// Prints a container's log (api/logs.ts reads it), straight to fds 1 and 2:
// a slow reader slows us instead of piling output up in memory. Used by
// `logs` and a foreground `run`.
import { writeSync } from 'node:fs';
import type { Container } from '../api/containers.js';
import { streamLogs, type LogEntry } from '../api/logs.js';

const PAUSE = new Int32Array(new SharedArrayBuffer(4));

class ReaderGone extends Error {}

function print(entries: LogEntry[]): void {
  for (const e of entries) {
    const buf = Buffer.from(e.log);
    const fd = e.stream === 'stdout' ? 1 : 2;
    for (let done = 0; done < buf.length; ) {
      try {
        done += writeSync(fd, buf, done);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') throw new ReaderGone(); // `nsbox logs | head`: done, quietly
        if (code !== 'EAGAIN') throw err;
        Atomics.wait(PAUSE, 0, 0, 2); // a full non-blocking pipe or terminal: let its reader catch up
      }
    }
  }
}

export async function followLogs(c: Container, opts: { follow: boolean; tail?: number }): Promise<void> {
  try {
    await streamLogs(c, opts, print);
  } catch (err) {
    if (!(err instanceof ReaderGone)) throw err;
  }
}
