// The keeper's framing: a u32 length (little-endian), then a text line,
// then (for plans) binary data. Answers are one text line.

/** The request format this side speaks; the keeper refuses any other (a pod made by another nsbox). */
export const KEEPER_PROTOCOL = 'v1';

export function frame(line: string, data?: Buffer): Buffer {
  if (line.includes('\n')) throw new Error('a keeper request is one line');
  const versioned = `${KEEPER_PROTOCOL} ${line}`;
  const head = Buffer.from(data ? `${versioned}\n` : versioned, 'utf8');
  const body = data ? Buffer.concat([head, data]) : head;
  const len = Buffer.alloc(4);
  len.writeUInt32LE(body.length);
  return Buffer.concat([len, body]);
}

/** Collects bytes until one whole frame has arrived; then returns its text. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): string | null {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    if (this.buf.length < 4) return null;
    const len = this.buf.readUInt32LE(0);
    if (this.buf.length < 4 + len) return null;
    return this.buf.subarray(4, 4 + len).toString('utf8');
  }
}

/** A text that goes on one request line: newlines would end it early. */
export function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').slice(0, 1000);
}
