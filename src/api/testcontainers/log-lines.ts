// A container's log as a wait strategy and a test read it: the lines since
// a start (entries stamped from then on), a stream that follows it, and the
// last lines for an error.
import { Readable } from 'node:stream';
import { LineSplitter } from '../../core/log-lines.js';
import { LogCursor, tailLog } from '../../container/log-reader.js';
import type { Container } from '../container.js';
import type { LogLines } from './wait-target.js';

const FOLLOW_POLL_MS = 25;

/** The lines of stdout and stderr written at or after `since` (ms since the epoch). */
export function logLinesSince(path: string, since: number): LogLines {
  const cursor = new LogCursor(path);
  const split = { stdout: new LineSplitter(), stderr: new LineSplitter() };
  return {
    next(end = false) {
      const lines: string[] = [];
      for (let batch = cursor.next(); batch.length; batch = cursor.next())
        for (const e of batch) if (Date.parse(e.time) >= since) lines.push(...split[e.stream].push(e.log));
      if (end) lines.push(...split.stdout.flush(), ...split.stderr.flush());
      return lines;
    },
    close: () => cursor.close(),
  };
}

/** The last n lines of its log (both streams, in order), without their newlines. */
export function lastLogLines(c: Container, n: number): string[] {
  try {
    return tailLog(c.paths().log, n).map((e) => e.log.replace(/\n$/, ''));
  } catch {
    return []; // its files are gone
  }
}

function hasEnded(c: Container): boolean {
  try {
    return c.state() === 'exited';
  } catch {
    return true; // removed
  }
}

/** Its output as a stream of text: what it wrote (or the last `tail` lines), then what it writes until it exits. */
export function followLogs(c: Container, opts: { tail?: number } = {}): Readable {
  const path = c.paths().log;
  const cursor = new LogCursor(path);
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  const stream = new Readable({
    encoding: 'utf8',
    read() {},
    destroy(err, callback) {
      ended = true;
      clearTimeout(timer);
      cursor.close();
      callback(err);
    },
  });
  if (opts.tail !== undefined) {
    for (const e of tailLog(path, opts.tail)) stream.push(e.log);
    cursor.skipToEnd();
  }
  const tick = () => {
    if (ended) return;
    const done = hasEnded(c);
    for (let batch = cursor.next(); batch.length; batch = cursor.next()) for (const e of batch) stream.push(e.log);
    if (done) {
      ended = true;
      cursor.close();
      stream.push(null);
      return;
    }
    timer = setTimeout(tick, FOLLOW_POLL_MS);
  };
  tick();
  return stream;
}
