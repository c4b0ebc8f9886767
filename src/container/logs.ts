// Container logs: one JSON object per line, {t, s, d} = time, stream
// ("o" stdout / "e" stderr), data; the supervisor appends, anyone reads.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';

export interface LogEntry {
  t: string;
  s: 'o' | 'e';
  d: string;
}

/** Output dropped because the log could not be written, said in the log once it can be again. */
interface Loss {
  bytes: number;
  reason: string;
}

function entryLine(stream: 'o' | 'e', data: string): string {
  return JSON.stringify({ t: new Date().toISOString(), s: stream, d: data } satisfies LogEntry) + '\n';
}

/**
 * Appends entries to a container's log. A failed write (a full disk, the
 * file size limit) must neither stop the container nor kill the supervisor:
 * the entry is dropped and counted, every later write is tried again, and
 * the first that works is preceded by a line on stderr saying how much was
 * lost and why.
 */
export class LogWriter {
  private fd: number | null = null;
  private loss: Loss = { bytes: 0, reason: '' };
  /** A write stopped inside a line: the next one ends that line first, so it is skipped as cut, not glued to the next entry. */
  private lineCut = false;
  private lastError = '';
  private closed = false;

  constructor(readonly path: string) {
    this.open();
  }

  write(stream: 'o' | 'e', data: string): void {
    if (this.closed) return;
    if (this.loss.bytes > 0 && this.append(entryLine('e', lossNotice(this.loss)))) this.loss = { bytes: 0, reason: '' };
    if (this.loss.bytes > 0 || !this.append(entryLine(stream, data))) {
      this.loss.bytes += Buffer.byteLength(data);
      this.loss.reason ||= this.lastError;
    }
  }

  private open(): boolean {
    try {
      this.fd = openSync(this.path, 'a', 0o600);
      return true;
    } catch (err) {
      this.lastError = errorCode(err);
      return false;
    }
  }

  /** Writes one whole line; false (and nothing more written) once a write fails. */
  private append(line: string): boolean {
    if (this.fd === null && !this.open()) return false;
    const prefix = this.lineCut ? 1 : 0;
    const buf = Buffer.from(prefix ? '\n' + line : line);
    let done = 0;
    try {
      while (done < buf.length) done += writeSync(this.fd!, buf, done);
      this.lineCut = false;
      return true;
    } catch (err) {
      if (done > 0) this.lineCut = done > prefix;
      this.lastError = errorCode(err);
      return false;
    }
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
    if (this.closed) return Promise.resolve();
    // A loss not yet said: one last try, now that the container is done.
    if (this.loss.bytes > 0) this.append(entryLine('e', lossNotice(this.loss)));
    this.closed = true;
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    return Promise.resolve();
  }
}

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}

function lossNotice(loss: Loss): string {
  const why = loss.reason === 'ENOSPC' ? 'the disk is full' : loss.reason === 'EFBIG' ? 'the file size limit was reached' : 'it could not be written';
  return `nsbox: ${loss.bytes} bytes of output were lost: ${why} (${loss.reason || 'error'})\n`;
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
