// Decides what FILE is by what its manifest says, never by its member names:
//   a top-level manifest.json listing {Config, Layers} entries -> docker-save
//     (docker save old and new, podman/skopeo docker-archive, crane), whatever
//     the paths it names;
//   otherwise oci-layout + index.json                -> an OCI layout
//   anything else (a tar, .tar.gz)                   -> a plain rootfs: one layer
// The paths a manifest names are then read safely (archive.ts). A tar is
// classified from its headers alone (seeking, O(members)); a gzipped one is
// decompressed once into the import's scratch directory and read from there,
// so it is never decompressed twice.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { NsboxError } from '../errors.js';
import { DirArchive, TarArchive, type ArchiveView } from './archive.js';
import { parseJson } from './config.js';
import { readDockerSave } from './docker-save.js';
import type { ImageSource } from './layer-source.js';
import { readOciLayout } from './oci-layout.js';
import { readHead, sniffBytes, unsupportedCompressionHint } from './sniff.js';

export interface OpenedSource {
  kind: 'rootfs' | 'docker-save' | 'oci';
  images: ImageSource[];
}

const HINT = 'give a .tar or .tar.gz rootfs, a docker save archive or an OCI image layout (directory or tar)';

type Shape = 'rootfs' | 'docker-save' | 'oci';

/** A docker-save manifest: a non-empty array of objects with a Config string and a Layers array. */
function isDockerManifest(v: unknown): boolean {
  return (
    Array.isArray(v) &&
    v.length > 0 &&
    v.every((m) => typeof m === 'object' && m !== null && typeof (m as { Config?: unknown }).Config === 'string' && Array.isArray((m as { Layers?: unknown }).Layers))
  );
}

/** The shape of an archive view, from its top-level manifest.json or index.json + oci-layout. */
export function classifyView(view: ArchiveView): Shape {
  if (view.has('manifest.json')) {
    let manifest: unknown;
    try {
      manifest = parseJson(view.readSmall('manifest.json', 'manifest'), `manifest.json in ${view.label}`);
    } catch {
      manifest = null; // a rootfs may carry a file of that name: only a docker manifest makes an image archive
    }
    if (isDockerManifest(manifest)) return 'docker-save';
  }
  if (view.has('index.json') && view.has('oci-layout')) return 'oci';
  return 'rootfs';
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), hash);
  return hash.digest('hex');
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
 * decompressed copy of a gzipped archive.
 */
export async function openImageSource(path: string, scratch: string): Promise<OpenedSource> {
  const st = statOrThrow(path);
  if (st.isDirectory()) {
    const view = new DirArchive(path);
    const shape = classifyView(view);
    if (shape === 'rootfs') throw new NsboxError('BAD_ARCHIVE', `directory ${path} is not an OCI image layout (it has no oci-layout and index.json)`, HINT);
    return { kind: shape, images: readImages(shape, view) };
  }
  if (!st.isFile()) throw new NsboxError('BAD_ARCHIVE', `${path} is not a regular file or directory`, HINT);
  if (st.size === 0) throw new NsboxError('BAD_ARCHIVE', `${path} is empty`, HINT);
  const kind = sniffBytes(readHead(path));
  if (kind === 'zstd' || kind === 'xz' || kind === 'bzip2') throw new NsboxError('UNSUPPORTED_ARCHIVE', `${path} is ${kind}-compressed`, unsupportedCompressionHint(kind));
  if (kind === 'unknown') throw new NsboxError('BAD_ARCHIVE', `${path} is not an archive (neither tar nor gzip)`, HINT);

  let tarFile = path;
  if (kind === 'gzip') {
    tarFile = join(scratch, 'archive.tar');
    try {
      await pipeline(createReadStream(path), createGunzip(), createWriteStream(tarFile, { mode: 0o600 }));
    } catch (err) {
      throw new NsboxError('BAD_ARCHIVE', `${path}: corrupt gzip data (${(err as Error).message})`, 'the file is damaged or truncated; copy it again');
    }
    const head = readHead(tarFile);
    if (head.length === 0 || sniffBytes(head) !== 'tar') throw new NsboxError('BAD_ARCHIVE', `${path}: the gzip data is not a tar archive`, HINT);
  }
  // A tar whose headers do not scan (corrupt, truncated, a member larger
  // than the file) is no image archive; extraction says what is wrong with it.
  let view: TarArchive | null = null;
  try {
    view = new TarArchive(tarFile, path);
  } catch (err) {
    if (!(err instanceof NsboxError)) throw err;
  }
  const shape = view ? classifyView(view) : 'rootfs';
  if (shape === 'rootfs' || !view) {
    // Its diff_id is the tar's sha256: known before extraction, a rootfs already stored is not extracted again.
    const diffId = `sha256:${await sha256File(tarFile)}`;
    const layer = { range: { file: tarFile, start: 0, length: statSync(tarFile).size }, compression: 'none' as const, label: `rootfs ${path}`, expectedDiffId: diffId };
    return { kind: 'rootfs', images: [{ kind: 'rootfs', names: [], layers: [layer], configBytes: null }] };
  }
  return { kind: shape, images: readImages(shape, view) };
}
