// Prints a container's log (api/logs.ts reads it), straight to fds 1 and 2:
// a slow reader slows us instead of piling output up in memory. Used by
// `logs` and a foreground `run`.
import { writeSync } from 'node:fs';
import type { Container } from '../api/containers.js';
import { streamLogs, type LogEntry } from '../api/logs.js';

const PAUSE = new Int32Array(new SharedArrayBuffer(4));

class ReaderGone extends Error {}

function print(entries: LogEntry[], prefix = ''): void {
  for (const e of entries) {
    // A prefix goes before every line (pod logs names the container each comes from).
    const text = prefix ? e.log.replace(/^(?=.)/gm, prefix) : e.log;
    const buf = Buffer.from(text);
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

export async function followLogs(c: Container, opts: { follow: boolean; tail?: number; prefix?: string }): Promise<void> {
  try {
    await streamLogs(c, opts, (entries) => print(entries, opts.prefix));
  } catch (err) {
    if (!(err instanceof ReaderGone)) throw err;
  }
}
