// What a file is, from its first bytes (never from its name).
import { closeSync, openSync, readSync } from 'node:fs';

export type Sniffed = 'gzip' | 'zstd' | 'xz' | 'bzip2' | 'tar' | 'unknown';

/** A tar header block: "ustar" magic, or a valid header checksum (old v7 tars). */
export function isTarHeader(block: Buffer): boolean {
  if (block.length < 512) return false;
  if (block.toString('latin1', 257, 262) === 'ustar') return true;
  const stored = parseInt(block.toString('latin1', 148, 156).replace(/\0.*$/, '').trim(), 8);
  if (!Number.isFinite(stored)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum === stored && block[0] !== 0;
}

export function sniffBytes(head: Buffer): Sniffed {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'BZh') return 'bzip2';
  if (isTarHeader(head)) return 'tar';
  // An archive with no entries: two zero blocks.
  if (head.length >= 1024 && head.subarray(0, 1024).every((b) => b === 0)) return 'tar';
  return 'unknown';
}

/** Reads up to `length` bytes at `position` of a file. */
export function readHead(path: string, position = 0, length = 1024): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    const n = readSync(fd, buf, 0, length, position);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** The hint for a compression Node 20 cannot read without a new native dependency. */
export function unsupportedCompressionHint(kind: Sniffed): string {
  switch (kind) {
    case 'zstd':
      return 'Node 20 has no zstd decoder: decompress it first (zstd -d FILE) and import the .tar';
    case 'xz':
      return 'decompress it first (xz -d FILE) and import the .tar';
    case 'bzip2':
      return 'decompress it first (bzip2 -d FILE) and import the .tar';
    default:
      return 'give a .tar or .tar.gz rootfs, a docker save archive or an OCI image layout';
  }
}
