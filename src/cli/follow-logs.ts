// Prints a container's log (api/logs.ts reads it), straight to fds 1 and 2:
// a slow reader slows us instead of piling output up in memory. Used by
// `logs` and a foreground `run`.
import type { Container } from '../api/containers.js';
import { streamLogs, type LogEntry } from '../api/logs.js';
import { ReaderGone, writeAll } from './output.js';

function print(entries: LogEntry[], prefix = ''): void {
  for (const e of entries) {
    // A prefix goes before every line (pod logs names the container each comes from).
    const text = prefix ? e.log.replace(/^(?=.)/gm, prefix) : e.log;
    writeAll(e.stream === 'stdout' ? 1 : 2, text); // ReaderGone (`nsbox logs | head`) ends it, quietly
  }
}

export async function followLogs(c: Container, opts: { follow: boolean; tail?: number; prefix?: string }): Promise<void> {
  try {
    await streamLogs(c, opts, (entries) => print(entries, opts.prefix));
  } catch (err) {
    if (!(err instanceof ReaderGone)) throw err;
  }
}
