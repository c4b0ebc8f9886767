// Prints a container's log; with follow, keeps printing until it has exited
// and everything it wrote is out (used by `logs -f` and a foreground `run`).
import type { Container } from '../container/container.js';
import { readLog, tailEntries, type LogEntry } from '../container/logs.js';
import { isAlive } from '../process/proc-stat.js';

const POLL_MS = 25;

function print(entries: LogEntry[]): void {
  for (const e of entries) (e.s === 'o' ? process.stdout : process.stderr).write(e.d);
}

export async function followLogs(c: Container, opts: { follow: boolean; tail?: number }): Promise<void> {
  const path = c.paths().log;
  let { entries, size } = readLog(path);
  print(opts.tail === undefined ? entries : tailEntries(entries, opts.tail));
  if (!opts.follow) return;
  for (;;) {
    const r = c.record();
    const done = r.state === 'exited' || (r.process !== null && !isAlive(r.process) && r.state !== 'running') || !isAlive(c.pod.record.pause);
    const next = readLog(path, size);
    print(next.entries);
    size = next.size;
    if (done) {
      print(readLog(path, size).entries);
      return;
    }
    await new Promise((res) => setTimeout(res, POLL_MS));
  }
}
