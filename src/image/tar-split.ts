// What it takes to rebuild a layer's tar byte for byte from its extracted
// directory (as containers/storage's tar-split does): every byte of the tar
// but the contents of regular files, kept in order, and for each file its
// path and size. Push and save rebuild the tar from this and the layer's
// files, so its sha256 is again the layer's diff_id (checked: a layer whose
// files changed, or whose tar wrote a path twice, is not rebuilt wrong).
import { Header, Pax, type HeaderData } from 'tar';

/** Raw bytes (base64), or a file's contents: its path in the layer and size. */
export type Segment = { r: string } | { f: string; n: number };

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

/** Fed the tar's bytes in order; splits them into segments. */
export class TarSplitRecorder {
  private readonly segments: Segment[] = [];
  private raw: Buffer[] = [];
  private header = Buffer.alloc(0);
  /** Bytes of the current member's data left, and whether they are file contents. */
  private dataLeft = 0;
  private dataIsFile = false;
  private padLeft = 0;
  private meta: Buffer[] | null = null;
  private metaType = '';
  private ex: HeaderData | undefined;
  private gex: HeaderData | undefined;
  private ended = false;

  private keep(b: Buffer): void {
    if (b.length) this.raw.push(Buffer.from(b));
  }

  private flushRaw(): void {
    if (this.raw.length) this.segments.push({ r: Buffer.concat(this.raw).toString('base64') });
    this.raw = [];
  }

  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.ended) {
        this.keep(chunk.subarray(off));
        return;
      }
      if (this.dataLeft > 0) {
        const n = Math.min(this.dataLeft, chunk.length - off);
        const part = chunk.subarray(off, off + n);
        if (this.dataIsFile) {
          // contents: referenced by the file segment already written
        } else {
          this.keep(part);
          this.meta?.push(Buffer.from(part));
        }
        this.dataLeft -= n;
        off += n;
        if (this.dataLeft === 0) this.endData();
        continue;
      }
      if (this.padLeft > 0) {
        const n = Math.min(this.padLeft, chunk.length - off);
        this.keep(chunk.subarray(off, off + n));
        this.padLeft -= n;
        off += n;
        continue;
      }
      const need = 512 - this.header.length;
      const take = chunk.subarray(off, off + need);
      this.header = this.header.length ? Buffer.concat([this.header, take]) : Buffer.from(take);
      off += take.length;
      if (this.header.length === 512) this.onHeader();
    }
  }

  private onHeader(): void {
    const block = this.header;
    this.header = Buffer.alloc(0);
    this.keep(block);
    if (block.every((b) => b === 0)) {
      this.ended = true; // end blocks, and whatever follows, kept as they are
      return;
    }
    const h = new Header(block, 0, this.ex as Pax | undefined, this.gex as Pax | undefined);
    const size = h.size ?? 0;
    this.padLeft = (512 - (size % 512)) % 512;
    const type = h.type ?? '';
    const isMeta = ['ExtendedHeader', 'OldExtendedHeader', 'GlobalExtendedHeader', 'NextFileHasLongPath', 'OldGnuLongPath', 'NextFileHasLongLinkpath'].includes(type);
    this.meta = isMeta ? [] : null;
    this.metaType = type;
    this.dataIsFile = !isMeta && FILE_TYPES.has(type);
    if (!isMeta) this.ex = undefined;
    if (this.dataIsFile && size > 0) {
      this.flushRaw();
      this.segments.push({ f: h.path ?? '', n: size });
    }
    this.dataLeft = size;
    if (size === 0) this.endData();
  }

  private endData(): void {
    if (!this.meta) return;
    const text = Buffer.concat(this.meta).toString('utf8');
    this.meta = null;
    switch (this.metaType) {
      case 'ExtendedHeader':
      case 'OldExtendedHeader':
        this.ex = Pax.parse(text, this.ex, false);
        break;
      case 'GlobalExtendedHeader':
        this.gex = Pax.parse(text, this.gex, true);
        break;
      case 'NextFileHasLongPath':
      case 'OldGnuLongPath':
        this.ex = { ...(this.ex ?? {}), path: text.replace(/\0.*/s, '') };
        break;
      case 'NextFileHasLongLinkpath':
        this.ex = { ...(this.ex ?? {}), linkpath: text.replace(/\0.*/s, '') };
        break;
    }
  }

  finish(): Segment[] {
    this.flushRaw();
    return this.segments;
  }
}
