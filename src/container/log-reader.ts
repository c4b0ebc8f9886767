// Reading a container's log (docker's json-file format, see logs.ts) in
// bounded memory: whole lines only (the writer may be inside one), a chunk
// at a time, from an offset, following it across a rotation; and the last
// N lines read backwards from the end.
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { parseEntry, rotatedPath, type LogEntry } from './logs.js';

const CHUNK = 1 << 20;

function openOrNull(path: string): number | null {
  try {
    return openSync(path, 'r');
  } catch {
    return null;
  }
}

function inodeOf(path: string): number | null {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
}

/**
 * Reads the entries appended to a log since the last call. It starts at the
 * rotated file (when there is one) so nothing is missed, and when the writer
 * rotates, it finishes the old file before it goes on: with the file that
 * became LOG.1 meanwhile (a second rotation while it was busy), then LOG.
 */
export class LogCursor {
  private fd: number | null = null;
  /** The inode of the file we hold open: never reused by another file while we hold it. */
  private ino: number | null = null;
  private offset = 0;
  private pending = Buffer.alloc(0);

  constructor(private readonly path: string) {
    if (!this.openFile(rotatedPath(path))) this.openFile(path);
  }

  private openFile(file: string): boolean {
    this.fd = openOrNull(file);
    this.ino = this.fd === null ? null : fstatSync(this.fd).ino;
    this.offset = 0;
    this.pending = Buffer.alloc(0);
    return this.fd !== null;
  }

  /**
   * Once the file we hold is done (still open, so its inode is not reused):
   * nothing new while it is still LOG; after a rotation, LOG.1 first when it
   * is neither ours nor LOG (a second rotation while we were busy), then LOG.
   */
  private moveOn(): boolean {
    const current = inodeOf(this.path);
    if (current === null || current === this.ino) return false;
    const rotated = inodeOf(rotatedPath(this.path));
    if (rotated !== null && rotated !== this.ino && rotated !== current) return this.openFile(rotatedPath(this.path));
    return this.openFile(this.path);
  }

  /** Entries of whole lines, about one chunk's worth per call (more for a longer line); [] when nothing new. */
  next(): LogEntry[] {
    if (this.fd === null && !this.openFile(this.path)) return [];
    const buf = Buffer.alloc(CHUNK);
    for (;;) {
      const n = readSync(this.fd!, buf, 0, CHUNK, this.offset);
      if (n === 0) {
        // At the end of this file: on to the next one, if the writer has started another.
        const fd = this.fd!;
        if (!this.moveOn()) return [];
        closeSync(fd);
        return this.next();
      }
      this.offset += n;
      const data = this.pending.length ? Buffer.concat([this.pending, buf.subarray(0, n)]) : buf.subarray(0, n);
      const end = data.lastIndexOf(0x0a) + 1;
      this.pending = Buffer.from(data.subarray(end));
      if (end > 0) return parseLines(data.subarray(0, end));
      // Inside one long line: read on until it ends.
    }
  }

  /** From now on only what is appended (after `--tail` printed the end). */
  skipToEnd(): void {
    if (inodeOf(this.path) !== this.ino) {
      if (this.fd !== null) closeSync(this.fd);
      if (!this.openFile(this.path)) return;
    }
    // Only up to the last whole line: a line being written is read when it is done.
    this.offset = endOfWholeLines(this.fd!, fstatSync(this.fd!).size);
    this.pending = Buffer.alloc(0);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

function parseLines(bytes: Buffer): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const line of bytes.toString('utf8').split('\n')) {
    const e = line ? parseEntry(line) : null;
    if (e) entries.push(e);
  }
  return entries;
}

/** Where the last whole line of the file ends (after its newline): a line still being written is not an entry yet. */
function endOfWholeLines(fd: number, size: number): number {
  const buf = Buffer.alloc(Math.min(CHUNK, size));
  for (let pos = size; pos > 0; ) {
    const len = Math.min(buf.length, pos);
    pos -= len;
    readSync(fd, buf, 0, len, pos);
    const nl = buf.subarray(0, len).lastIndexOf(0x0a);
    if (nl >= 0) return pos + nl + 1;
  }
  return 0;
}

/** The whole lines of one file, last first, read backwards a chunk at a time. */
function* linesBackwards(path: string): Generator<string> {
  const fd = openOrNull(path);
  if (fd === null) return;
  try {
    let pos = endOfWholeLines(fd, fstatSync(fd).size);
    // The end of a line whose start lies in an earlier chunk, with its newline:
    // every region split below ends with a newline.
    let carry = Buffer.alloc(0);
    while (pos > 0) {
      const size = Math.min(CHUNK, pos);
      pos -= size;
      const buf = Buffer.alloc(size);
      readSync(fd, buf, 0, size, pos);
      const data = Buffer.concat([buf, carry]);
      const cut = pos > 0 ? data.indexOf(0x0a) + 1 : 0; // before it: a line that starts earlier
      carry = Buffer.from(data.subarray(0, cut));
      const lines = data.subarray(cut).toString('utf8').split('\n');
      lines.pop(); // what follows the last newline: nothing
      for (let i = lines.length - 1; i >= 0; i--) if (lines[i]) yield lines[i]!;
    }
  } finally {
    closeSync(fd);
  }
}

/** Splits entries into one entry per line of text, as `logs --tail` counts. */
function perLine(e: LogEntry): LogEntry[] {
  return e.log.split(/(?<=\n)/).map((log) => ({ ...e, log }));
}

/** The last n lines of the log (both files), in order, reading only as much as they take. */
export function tailLog(path: string, n: number): LogEntry[] {
  const out: LogEntry[] = [];
  if (n === 0) return out;
  for (const file of [path, rotatedPath(path)]) {
    for (const line of linesBackwards(file)) {
      const e = parseEntry(line);
      if (!e) continue;
      const parts = perLine(e);
      out.unshift(...parts.slice(Math.max(0, parts.length - (n - out.length))));
      if (out.length >= n) return out;
    }
  }
  return out;
}
