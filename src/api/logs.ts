// A container's log, entry by entry: all of it or the last lines, and with
// follow, what it writes next until it has exited and everything is out.
// Memory stays bounded whatever the log's size: it is read a chunk at a
// time, and followed by offset (only what was appended is read).
import type { Container } from './container.js';
import { LogCursor, tailLog } from '../container/log-reader.js';
import type { LogEntry } from '../container/logs.js';
import { isAlive } from '../process/proc-stat.js';

export type { LogEntry } from '../container/logs.js';

const POLL_MS = 25;

export interface LogOptions {
  follow?: boolean;
  /** Only the last N lines (then what follows). */
  tail?: number;
}

/** Hands every entry to `sink` in order; a sink that throws ends the stream (its error comes back). */
export async function streamLogs(c: Container, opts: LogOptions, sink: (entries: LogEntry[]) => void): Promise<void> {
  const path = c.paths().log;
  const cursor = new LogCursor(path);
  const drain = () => {
    for (let batch = cursor.next(); batch.length; batch = cursor.next()) sink(batch);
  };
  try {
    if (opts.tail !== undefined) {
      sink(tailLog(path, opts.tail));
      cursor.skipToEnd();
    } else drain();
    if (!opts.follow) return;
    for (;;) {
      const r = c.record();
      const done = r.state === 'exited' || (r.process !== null && !isAlive(r.process) && r.state !== 'running' && r.state !== 'restarting') || !isAlive(c.pod.record.pause);
      drain();
      if (done) {
        drain();
        return;
      }
      await new Promise((res) => setTimeout(res, POLL_MS));
    }
  } finally {
    cursor.close();
  }
}
