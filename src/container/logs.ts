// Container logs in docker's json-file format, one object per line:
// {"log": TEXT, "stream": "stdout"|"stderr", "time": RFC 3339}, which tools
// that read docker's logs understand. The supervisor appends (and rotates
// by size: the previous file is kept as LOG.1), anyone reads (log-reader.ts).
import { closeSync, fstatSync, openSync, renameSync, writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';

export interface LogEntry {
  log: string;
  stream: 'stdout' | 'stderr';
  time: string;
}

/** Where a rotated log goes. */
export const rotatedPath = (path: string) => `${path}.1`;

/** One line of the log, or null for a line that is not an entry (cut by a crash). */
export function parseEntry(line: string): LogEntry | null {
  try {
    const e = JSON.parse(line) as Partial<LogEntry>;
    return typeof e.log === 'string' && (e.stream === 'stdout' || e.stream === 'stderr') ? (e as LogEntry) : null;
  } catch {
    return null;
  }
}

/** Output dropped because the log could not be written, said in the log once it can be again. */
interface Loss {
  bytes: number;
  reason: string;
}

function entryLine(stream: 'o' | 'e', data: string): string {
  return JSON.stringify({ log: data, stream: stream === 'o' ? 'stdout' : 'stderr', time: new Date().toISOString() } satisfies LogEntry) + '\n';
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
  private size = 0;

  /** maxSize: rotate once the file grows past it (bytes; 0: never). */
  constructor(
    readonly path: string,
    private readonly maxSize = 0,
  ) {
    this.open();
  }

  /** One entry per line of output, as docker writes them; a longer line in pieces of at most 16 KiB. */
  write(stream: 'o' | 'e', data: string): void {
    for (const piece of entryPieces(data)) this.writeEntry(stream, piece);
  }

  private writeEntry(stream: 'o' | 'e', data: string): void {
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
      this.size = fstatSync(this.fd).size;
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
      this.size += buf.length;
      if (this.maxSize > 0 && this.size >= this.maxSize) this.rotate();
      return true;
    } catch (err) {
      if (done > 0) this.lineCut = done > prefix;
      this.lastError = errorCode(err);
      return false;
    }
  }

  /** The file is full: it becomes LOG.1 (replacing the one before), and a new one starts. */
  private rotate(): void {
    try {
      renameSync(this.path, rotatedPath(this.path));
    } catch (err) {
      this.lastError = errorCode(err);
      return; // keep appending: a log that cannot rotate still logs
    }
    closeSync(this.fd!);
    this.fd = null;
    this.open();
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

const MAX_ENTRY_CHARS = 16 * 1024;

function* entryPieces(data: string): Generator<string> {
  for (const line of data.split(/(?<=\n)/)) {
    for (let at = 0; at < line.length; at += MAX_ENTRY_CHARS) yield line.slice(at, at + MAX_ENTRY_CHARS);
  }
}

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}

function lossNotice(loss: Loss): string {
  const why = loss.reason === 'ENOSPC' ? 'the disk is full' : loss.reason === 'EFBIG' ? 'the file size limit was reached' : 'it could not be written';
  return `nsbox: ${loss.bytes} bytes of output were lost: ${why} (${loss.reason || 'error'})\n`;
}
