// Container logs: one JSON object per line, {t, s, d} = time, stream
// ("o" stdout / "e" stderr), data; the supervisor appends, anyone reads.
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import type { Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';

export interface LogEntry {
  t: string;
  s: 'o' | 'e';
  d: string;
}

export class LogWriter {
  private out: WriteStream;
  constructor(readonly path: string) {
    this.out = createWriteStream(path, { flags: 'a', mode: 0o600 });
    this.out.on('error', () => {}); // a full disk must not kill the supervisor
  }

  write(stream: 'o' | 'e', data: string): void {
    this.out.write(JSON.stringify({ t: new Date().toISOString(), s: stream, d: data } satisfies LogEntry) + '\n');
  }

  /** Copies a pipe into the log; resolves when the pipe closes. */
  attach(socket: Socket, stream: 'o' | 'e', tee?: (data: Buffer) => void): Promise<void> {
    // A character split across two reads is held back until it is whole.
    const decoder = new StringDecoder('utf8');
    socket.on('data', (d: Buffer) => {
      const text = decoder.write(d);
      if (text) this.write(stream, text);
      tee?.(d);
    });
    return new Promise((resolve) => {
      let done = false;
      const end = () => {
        if (done) return;
        done = true;
        const rest = decoder.end();
        if (rest) this.write(stream, rest);
        resolve();
      };
      socket.on('close', end);
      socket.on('error', end);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.out.end(resolve));
  }
}

export function parseLog(text: string): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      entries.push(JSON.parse(line) as LogEntry);
    } catch {
      // a line cut by a crash: skip it
    }
  }
  return entries;
}

export function readLog(path: string, fromByte = 0): { entries: LogEntry[]; size: number } {
  let text: string;
  try {
    const buf = readFileSync(path);
    // Only whole lines: a writer may be in the middle of one.
    const end = buf.lastIndexOf(0x0a) + 1;
    text = buf.subarray(fromByte, Math.max(fromByte, end)).toString('utf8');
    return { entries: parseLog(text), size: Math.max(fromByte, end) };
  } catch {
    return { entries: [], size: fromByte };
  }
}

/** The last n lines of each entry's text, in order, as `logs --tail` shows them. */
export function tailEntries(entries: LogEntry[], n: number): LogEntry[] {
  const lines: LogEntry[] = [];
  for (const e of entries) {
    const parts = e.d.split(/(?<=\n)/);
    for (const p of parts) lines.push({ ...e, d: p });
  }
  return n >= lines.length ? lines : lines.slice(lines.length - n);
}
