// What an import reads: images, each with its layers as byte ranges of files.
import { NsboxError } from '../errors.js';
import type { ByteRange } from './archive.js';
import type { ImageSourceKind } from './record.js';
import { readHead, sniffBytes, unsupportedCompressionHint } from './sniff.js';

export interface LayerSource {
  range: ByteRange;
  compression: 'none' | 'gzip' | 'zstd';
  /** diff_id the image config promises (checked after extraction). */
  expectedDiffId?: string;
  /** Blob digest the manifest promises (checked after extraction). */
  expectedDigest?: string;
  /** "layer 2/3 (blobs/sha256/ab…)", for messages. */
  label: string;
}

export interface ImageSource {
  kind: ImageSourceKind;
  /** Normalized NAME:TAG names the archive gives the image. */
  names: string[];
  layers: LayerSource[];
  /** The config as stored (its sha256 is the image id); null for a plain rootfs. */
  configBytes: Buffer | null;
}

/** gzip, zstd or plain, from the range's first bytes; other compressions are refused with the fix. */
export function layerCompression(range: ByteRange, label: string): 'none' | 'gzip' | 'zstd' {
  const kind = sniffBytes(readHead(range.file, range.start, Math.min(1024, range.length)));
  if (kind === 'gzip' || kind === 'zstd') return kind;
  if (kind === 'xz' || kind === 'bzip2') throw new NsboxError('UNSUPPORTED_ARCHIVE', `${label} is ${kind}-compressed`, unsupportedCompressionHint(kind));
  return 'none';
}
