// Read access to the container of an image: a docker-save or OCI tar (indexed
// once by seeking from header to header, so layers are read in place and never
// copied), or an OCI layout directory. Paths named by manifests are checked:
// one that leaves the archive (absolute, `..`, a symlink out) is an error.
import { closeSync, fstatSync, lstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { Header, Pax, type HeaderData } from 'tar';
import { NsboxError } from '../errors.js';

/** A byte range of a file on the host: where a layer or blob is read from. */
export interface ByteRange {
  file: string;
  start: number;
  length: number;
}

export interface ArchiveView {
  /** "archive FILE" or "directory DIR", for messages. */
  readonly label: string;
  has(path: string): boolean;
  /** Every regular member path (normalized), for format detection. */
  paths(): string[];
  range(path: string, what: string): ByteRange;
  readSmall(path: string, what: string, max?: number): Buffer;
}

export const MAX_METADATA_BYTES = 16 * 1024 * 1024;

function badArchive(message: string, hint?: string): NsboxError {
  return new NsboxError('BAD_ARCHIVE', message, hint);
}

/**
 * Normalizes a path named inside an archive ("./a//b" -> "a/b") and refuses
 * one that leaves it. `what` says who named it, for the message.
 */
export function archivePath(p: string, what: string): string {
  if (p.includes('\0')) throw badArchive(`${what} path ${JSON.stringify(p)} contains a NUL byte`);
  if (p.startsWith('/')) throw badArchive(`${what} path ${JSON.stringify(p)} is absolute: it escapes the archive`);
  const parts = p.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.includes('..')) throw badArchive(`${what} path ${JSON.stringify(p)} escapes the archive`);
  return parts.join('/');
}

function readFull(fd: number, buf: Buffer, position: number): void {
  let off = 0;
  while (off < buf.length) {
    const n = readSync(fd, buf, off, buf.length - off, position + off);
    if (n === 0) throw badArchive('the archive is truncated');
    off += n;
  }
}

export interface TarMember {
  /** As stored (after pax / GNU long names), not normalized. */
  rawPath: string;
  type: string;
  /** Offset of the member's data in the file. */
  offset: number;
  size: number;
  linkpath?: string;
}

/**
 * Yields the members of an uncompressed tar file by reading only headers
 * (and pax / long-name records): O(members), not O(bytes).
 */
export function* scanTarFile(file: string, displayName = file): Generator<TarMember> {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const block = Buffer.alloc(512);
    let pos = 0;
    let ex: HeaderData | undefined;
    let gex: HeaderData | undefined;
    while (pos + 512 <= size) {
      readFull(fd, block, pos);
      if (block.every((b) => b === 0)) return;
      const h = new Header(block, 0, ex as Pax | undefined, gex as Pax | undefined);
      if (!h.cksumValid) throw badArchive(`${displayName}: not a valid tar archive (checksum failure) at offset ${pos}`, 'the file is damaged or not a tar');
      const dataStart = pos + 512;
      const dataSize = h.size ?? 0;
      if (dataStart + dataSize > size) throw badArchive(`${displayName}: truncated tar member ${JSON.stringify(h.path)}`, 'the archive is incomplete; copy it again');
      const readData = (): string => {
        if (dataSize > 1024 * 1024) throw badArchive(`${displayName}: oversized tar metadata record at offset ${pos}`);
        const buf = Buffer.alloc(dataSize);
        readFull(fd, buf, dataStart);
        return buf.toString('utf8');
      };
      switch (h.type) {
        case 'ExtendedHeader':
        case 'OldExtendedHeader':
          ex = Pax.parse(readData(), ex, false);
          break;
        case 'GlobalExtendedHeader':
          gex = Pax.parse(readData(), gex, true);
          break;
        case 'NextFileHasLongPath':
        case 'OldGnuLongPath':
          ex = { ...(ex ?? {}), path: readData().replace(/\0.*/s, '') };
          break;
        case 'NextFileHasLongLinkpath':
          ex = { ...(ex ?? {}), linkpath: readData().replace(/\0.*/s, '') };
          break;
        default:
          ex = undefined;
          yield { rawPath: h.path ?? '', type: h.type, offset: dataStart, size: dataSize, linkpath: h.linkpath || undefined };
      }
      pos = dataStart + Math.ceil(dataSize / 512) * 512;
    }
  } finally {
    closeSync(fd);
  }
}

interface IndexedMember {
  type: string;
  offset: number;
  size: number;
  linkpath?: string;
}

/** A docker-save or OCI tar, indexed; members are read in place. */
export class TarArchive implements ArchiveView {
  readonly label: string;
  private readonly members = new Map<string, IndexedMember>();

  constructor(
    readonly file: string,
    displayName = file,
  ) {
    this.label = `archive ${displayName}`;
    for (const m of scanTarFile(file, displayName)) {
      let p: string;
      try {
        p = archivePath(m.rawPath, 'member');
      } catch {
        continue; // a member nobody can name legitimately; never read
      }
      this.members.set(p, { type: m.type, offset: m.offset, size: m.size, linkpath: m.linkpath });
    }
  }

  has(path: string): boolean {
    try {
      this.resolve(path, 'member');
      return true;
    } catch {
      return false;
    }
  }

  paths(): string[] {
    return [...this.members.keys()];
  }

  /** Follows symlinks and hard links inside the archive (docker save links duplicate layers). */
  private resolve(path: string, what: string): IndexedMember & { path: string } {
    let p = archivePath(path, what);
    for (let hops = 0; hops < 16; hops++) {
      const m = this.members.get(p);
      if (!m) throw badArchive(`${this.label} has no ${what} ${JSON.stringify(p)}`, 'the archive is incomplete or not an image');
      if (m.type === 'SymbolicLink') {
        const target = m.linkpath ?? '';
        if (target.startsWith('/')) throw badArchive(`${what} ${JSON.stringify(p)} is a symlink to ${JSON.stringify(target)}, outside the archive`);
        p = archivePath(posix.join(posix.dirname(p), target), `${what} ${JSON.stringify(p)} links to`);
        continue;
      }
      if (m.type === 'Link') {
        p = archivePath(m.linkpath ?? '', `${what} ${JSON.stringify(p)} hard-links to`);
        continue;
      }
      if (m.type !== 'File' && m.type !== 'OldFile' && m.type !== 'ContiguousFile')
        throw badArchive(`${what} ${JSON.stringify(p)} in ${this.label} is not a regular file`);
      return { ...m, path: p };
    }
    throw badArchive(`${what} ${JSON.stringify(path)}: too many levels of links in ${this.label}`);
  }

  range(path: string, what: string): ByteRange {
    const m = this.resolve(path, what);
    return { file: this.file, start: m.offset, length: m.size };
  }

  readSmall(path: string, what: string, max = MAX_METADATA_BYTES): Buffer {
    const m = this.resolve(path, what);
    if (m.size > max) throw badArchive(`${what} ${JSON.stringify(m.path)} is ${m.size} bytes, more than the ${max} expected`);
    const fd = openSync(this.file, 'r');
    try {
      const buf = Buffer.alloc(m.size);
      readFull(fd, buf, m.offset);
      return buf;
    } finally {
      closeSync(fd);
    }
  }
}

/** An OCI image layout directory; a blob that resolves outside it is refused. */
export class DirArchive implements ArchiveView {
  readonly label: string;
  private readonly real: string;

  constructor(readonly dir: string) {
    this.label = `directory ${dir}`;
    this.real = realpathSync(dir);
  }

  private resolve(path: string, what: string): string {
    const p = archivePath(path, what);
    const abs = join(this.dir, p);
    let real: string;
    try {
      real = realpathSync(abs);
    } catch {
      throw badArchive(`${this.label} has no ${what} ${JSON.stringify(p)}`, 'the layout is incomplete');
    }
    if (real !== this.real && !real.startsWith(this.real + '/'))
      throw badArchive(`${what} ${JSON.stringify(p)} resolves to ${real}, outside ${this.label}`);
    if (!statSync(real).isFile()) throw badArchive(`${what} ${JSON.stringify(p)} in ${this.label} is not a regular file`);
    return real;
  }

  has(path: string): boolean {
    try {
      this.resolve(path, 'file');
      return true;
    } catch {
      return false;
    }
  }

  paths(): string[] {
    return ['oci-layout', 'index.json', 'manifest.json'].filter((p) => {
      try {
        return lstatSync(join(this.dir, p)).isFile();
      } catch {
        return false;
      }
    });
  }

  range(path: string, what: string): ByteRange {
    const file = this.resolve(path, what);
    return { file, start: 0, length: statSync(file).size };
  }

  readSmall(path: string, what: string, max = MAX_METADATA_BYTES): Buffer {
    const file = this.resolve(path, what);
    const size = statSync(file).size;
    if (size > max) throw badArchive(`${what} ${JSON.stringify(path)} is ${size} bytes, more than the ${max} expected`);
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(size);
      if (size) readFull(fd, buf, 0);
      return buf;
    } finally {
      closeSync(fd);
    }
  }
}
