// Prints a container's log; with follow, keeps printing until it has exited
// and everything it wrote is out (used by `logs -f` and a foreground `run`).
// Memory stays bounded whatever the log's size: it is read a chunk at a
// time, and followed by offset (only what was appended is read).
import type { Container } from '../container/container.js';
import { LogCursor, tailLog } from '../container/log-reader.js';
import type { LogEntry } from '../container/logs.js';
import { writeSync } from 'node:fs';
import { isAlive } from '../process/proc-stat.js';

const POLL_MS = 25;
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

class ReaderGone extends Error {}

/** Straight to fds 1 and 2: a slow reader slows us instead of piling output up in memory. */
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

/** Prints everything up to the current end, a chunk at a time. */
function drain(cursor: LogCursor): void {
  for (let batch = cursor.next(); batch.length; batch = cursor.next()) print(batch);
}

export async function followLogs(c: Container, opts: { follow: boolean; tail?: number }): Promise<void> {
  const path = c.paths().log;
  const cursor = new LogCursor(path);
  try {
    if (opts.tail !== undefined) {
      print(tailLog(path, opts.tail));
      cursor.skipToEnd();
    } else drain(cursor);
    if (!opts.follow) return;
    for (;;) {
      const r = c.record();
      const done = r.state === 'exited' || (r.process !== null && !isAlive(r.process) && r.state !== 'running' && r.state !== 'restarting') || !isAlive(c.pod.record.pause);
      drain(cursor);
      if (done) {
        drain(cursor);
        return;
      }
      await new Promise((res) => setTimeout(res, POLL_MS));
    }
  } catch (err) {
    if (!(err instanceof ReaderGone)) throw err;
  } finally {
    cursor.close();
  }
}
