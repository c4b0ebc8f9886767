// Decides what FILE is, from its bytes and its members, never its name:
//   a directory with oci-layout + index.json   -> an OCI layout
//   a tar (or .tar.gz) whose members are only those of an image archive
//     (manifest.json, repositories, index.json, oci-layout, blobs/..., <hex>/layer.tar ...)
//     -> docker save (manifest.json) or OCI (index.json)
//   any other tar or .tar.gz                   -> a plain rootfs: one layer
// Classification stops at the first member that is not image-shaped, so a
// rootfs tarball is not read twice. A gzipped image archive is decompressed
// once into the import's scratch directory so that layers can be read in place.
import { createReadStream, createWriteStream, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { NsboxError } from '../errors.js';
import { DirArchive, scanTarFile, TarArchive, type ArchiveView } from './archive.js';
import { readDockerSave } from './docker-save.js';
import type { ImageSource } from './layer-source.js';
import { readOciLayout } from './oci-layout.js';
import { readHead, sniffBytes, unsupportedCompressionHint } from './sniff.js';

export interface OpenedSource {
  kind: 'rootfs' | 'docker-save' | 'oci';
  images: ImageSource[];
}

const HINT = 'give a .tar or .tar.gz rootfs, a docker save archive or an OCI image layout (directory or tar)';
const HEX = /^[0-9a-f]{64}$/;

/** A member path an image archive can have (docker save, old and new, or OCI). */
export function imageShaped(path: string): boolean {
  if (path === '' || ['manifest.json', 'repositories', 'index.json', 'oci-layout', 'blobs'].includes(path)) return true;
  const parts = path.split('/');
  if (parts[0] === 'blobs') return (parts.length === 2 && /^[a-z0-9]+$/.test(parts[1]!)) || (parts.length === 3 && /^[a-z0-9]+$/.test(parts[1]!) && /^[a-f0-9]+$/.test(parts[2]!));
  if (parts.length === 1) return HEX.test(parts[0]!) || /^[0-9a-f]{64}\.json$/.test(parts[0]!);
  return parts.length === 2 && HEX.test(parts[0]!) && ['VERSION', 'json', 'layer.tar'].includes(parts[1]!);
}

function normalizeMember(p: string): string | null {
  if (p.startsWith('/')) return null;
  const parts = p.split('/').filter((c) => c !== '' && c !== '.');
  return parts.includes('..') ? null : parts.join('/');
}

type Shape = 'rootfs' | 'docker-save' | 'oci';

class Classifier {
  private readonly seen = new Set<string>();
  decided: Shape | null = null;

  /** Returns true once decided. */
  add(rawPath: string): boolean {
    const p = normalizeMember(rawPath);
    if (p === null || !imageShaped(p)) {
      this.decided = 'rootfs';
      return true;
    }
    this.seen.add(p);
    return false;
  }

  finish(): Shape {
    if (this.decided) return this.decided;
    if (this.seen.has('manifest.json')) return 'docker-save';
    if (this.seen.has('index.json') && this.seen.has('oci-layout')) return 'oci';
    return 'rootfs';
  }
}

function classifyTar(file: string): Shape {
  const c = new Classifier();
  for (const m of scanTarFile(file)) if (c.add(m.rawPath)) break;
  return c.finish();
}

/** Streams the start of a gzipped tar until its shape is known. */
async function classifyGzip(file: string): Promise<Shape> {
  const c = new Classifier();
  const stream = createReadStream(file, { highWaterMark: 1 << 16 });
  const parser = new Parser({ zstd: false, brotli: false });
  let entries = 0;
  let invalid = 0;
  await new Promise<void>((resolve, reject) => {
    const done = () => {
      stream.destroy();
      resolve();
    };
    parser.on('entry', (e: ReadEntry) => {
      entries++;
      e.resume();
      if (!c.decided && c.add(e.path)) done();
    });
    parser.on('warn', (code: string) => {
      if (code === 'TAR_ENTRY_INVALID' || code === 'TAR_BAD_ARCHIVE') invalid++;
    });
    parser.on('error', (err: Error) => {
      const msg = err.message.replace(/^TAR_[A-Z_]+: /, '');
      reject(new NsboxError('BAD_ARCHIVE', `${file}: corrupt gzip data (${msg})`, 'the file is damaged or truncated; copy it again'));
      stream.destroy();
    });
    parser.on('end', resolve);
    stream.on('error', reject);
    stream.pipe(parser as unknown as NodeJS.WritableStream);
  });
  if (!c.decided && entries === 0 && invalid > 0) throw new NsboxError('BAD_ARCHIVE', `${file}: the gzip data is not a tar archive`, HINT);
  return c.finish();
}

function statOrThrow(path: string): Stats {
  try {
    return statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new NsboxError('NOT_FOUND', `cannot read ${path}: no such file or directory`, HINT);
    if (code === 'EACCES') throw new NsboxError('PERMISSION', `cannot read ${path}: permission denied`, 'check its permissions');
    throw new NsboxError('NOT_FOUND', `cannot read ${path}: ${(err as Error).message}`, HINT);
  }
}

function readImages(shape: 'docker-save' | 'oci', view: ArchiveView): ImageSource[] {
  return shape === 'docker-save' ? readDockerSave(view) : readOciLayout(view);
}

/**
 * Opens FILE (a path) for import. `scratch` is a private directory for a
 * decompressed copy of a gzipped image archive.
 */
export async function openImageSource(path: string, scratch: string): Promise<OpenedSource> {
  const st = statOrThrow(path);
  if (st.isDirectory()) {
    const view = new DirArchive(path);
    const members = view.paths();
    if (members.includes('manifest.json')) return { kind: 'docker-save', images: readImages('docker-save', view) };
    if (members.includes('index.json') && members.includes('oci-layout')) return { kind: 'oci', images: readImages('oci', view) };
    throw new NsboxError('BAD_ARCHIVE', `directory ${path} is not an OCI image layout (it has no oci-layout and index.json)`, HINT);
  }
  if (!st.isFile()) throw new NsboxError('BAD_ARCHIVE', `${path} is not a regular file or directory`, HINT);
  if (st.size === 0) throw new NsboxError('BAD_ARCHIVE', `${path} is empty`, HINT);
  const kind = sniffBytes(readHead(path));
  if (kind === 'zstd' || kind === 'xz' || kind === 'bzip2') throw new NsboxError('UNSUPPORTED_ARCHIVE', `${path} is ${kind}-compressed`, unsupportedCompressionHint(kind));
  if (kind === 'unknown') throw new NsboxError('BAD_ARCHIVE', `${path} is not an archive (neither tar nor gzip)`, HINT);

  const shape = kind === 'gzip' ? await classifyGzip(path) : classifyTar(path);
  const whole = { file: path, start: 0, length: st.size };
  if (shape === 'rootfs') {
    const layer = { range: whole, compression: kind === 'gzip' ? ('gzip' as const) : ('none' as const), label: `rootfs ${path}` };
    return { kind: 'rootfs', images: [{ kind: 'rootfs', names: [], layers: [layer], configBytes: null }] };
  }
  let tarFile = path;
  if (kind === 'gzip') {
    tarFile = join(scratch, 'archive.tar');
    try {
      await pipeline(createReadStream(path), createGunzip(), createWriteStream(tarFile, { mode: 0o600 }));
    } catch (err) {
      throw new NsboxError('BAD_ARCHIVE', `${path}: corrupt gzip data (${(err as Error).message})`, 'the file is damaged or truncated; copy it again');
    }
  }
  return { kind: shape, images: readImages(shape, new TarArchive(tarFile, path)) };
}
