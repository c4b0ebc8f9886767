// `nsbox image save`: writes stored images as an OCI layout (oci-dir), a tar
// of one (oci-archive), or a docker-archive. One layout serves all three, as
// Docker 25+ writes it: blobs/sha256/<hex> (uncompressed layer tars, so a
// layer's blob digest is its diff_id), index.json + oci-layout, and a
// manifest.json naming the same blobs. Layer tars are rebuilt byte for byte
// from the store (export.ts) and the config is the one the image came with,
// so ids and digests are the image's own. Written under images/tmp and moved
// into place at the end: a failed save leaves no output.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { create as createTar } from 'tar';
import { NsboxError } from '../errors.js';
import { defaultDataRoot } from '../state/paths.js';
import { exportLayers, imageConfigBytes } from './export.js';
import { sweepStale } from './import.js';
import { digestHex, ensureImageDirs, imagePaths } from './paths.js';
import { findImage } from './store.js';
import { removeTree } from './worker-client.js';

export type SaveFormat = 'docker-archive' | 'oci-archive' | 'oci-dir';
export const SAVE_FORMATS: SaveFormat[] = ['docker-archive', 'oci-archive', 'oci-dir'];

export interface SaveOptions {
  root?: string;
  format?: SaveFormat;
  output: string;
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export async function saveImages(refs: string[], opts: SaveOptions): Promise<{ output: string; format: SaveFormat; images: string[] }> {
  const root = resolve(opts.root ?? defaultDataRoot());
  const format = opts.format ?? 'docker-archive';
  if (!SAVE_FORMATS.includes(format)) throw new NsboxError('INVALID_ARGUMENT', `--format ${JSON.stringify(format)} is not one nsbox writes`, `use ${SAVE_FORMATS.join(', ')}`);
  if (!refs.length) throw new NsboxError('INVALID_ARGUMENT', 'no image to save', 'name one or more images');
  const output = resolve(opts.output);
  if (existsSync(output) && (format !== 'oci-dir' || statSync(output).isFile() || readdirSafe(output).length))
    throw new NsboxError('OUTPUT_EXISTS', `${opts.output} already exists`, 'remove it or choose another -o path');
  if (!existsSync(dirname(output))) throw new NsboxError('NOT_FOUND', `the directory of ${opts.output} does not exist`, 'create it first');
  const images = refs.map((r) => findImage(root, r));
  ensureImageDirs(root);
  await sweepStale(root);
  const stage = mkdtempSync(join(imagePaths.tmp(root), `${process.pid}-save-`));
  try {
    const layout = join(stage, 'layout');
    mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
    const blob = (bytes: Buffer) => {
      const d = sha(bytes);
      writeFileSync(join(layout, 'blobs', 'sha256', digestHex(d)), bytes);
      return { digest: d, size: bytes.length };
    };
    const layers = [...new Set(images.flatMap((i) => i.layers))];
    const sizes = await exportLayers(root, layers, (d) => join(layout, 'blobs', 'sha256', digestHex(d)));
    const index: object[] = [];
    const dockerManifest: object[] = [];
    for (const img of images) {
      const config = blob(imageConfigBytes(root, img));
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
          layers: img.layers.map((d) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: d, size: sizes.get(d)! })),
        }),
      );
      const m = blob(manifest);
      const names = img.names;
      if (names.length === 0) index.push({ mediaType: OCI_MANIFEST, ...m });
      for (const n of names) {
        const tag = n.slice(n.lastIndexOf(':') + 1);
        index.push({ mediaType: OCI_MANIFEST, ...m, annotations: { 'io.containerd.image.name': n, 'org.opencontainers.image.ref.name': tag } });
      }
      dockerManifest.push({ Config: `blobs/sha256/${img.id}`, RepoTags: names, Layers: img.layers.map((d) => `blobs/sha256/${digestHex(d)}`) });
    }
    writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: index }));
    if (format === 'docker-archive') writeFileSync(join(layout, 'manifest.json'), JSON.stringify(dockerManifest));

    if (format === 'oci-dir') {
      if (existsSync(output)) rmSync(output, { recursive: true });
      renameOrCopy(layout, output);
    } else {
      const tmp = join(stage, 'archive.tar');
      await createTar({ file: tmp, cwd: layout, portable: true, mtime: new Date(0) }, ['oci-layout', 'index.json', ...(format === 'docker-archive' ? ['manifest.json'] : []), 'blobs']);
      renameOrCopy(tmp, output);
    }
    return { output, format, images: images.map((i) => i.id) };
  } finally {
    await removeTree(stage);
  }
}

function readdirSafe(p: string): string[] {
  try {
    return statSync(p).isDirectory() ? readdirSync(p) : [];
  } catch {
    return [];
  }
}

/** rename, or (another file system) copy; the stage is removed after. */
function renameOrCopy(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    cpSync(from, to, { recursive: true });
  }
}
