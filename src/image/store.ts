// The image store's records, names index and layer paths (see paths.ts).
// Readers take no lock: every file is replaced atomically. Writers hold
// images/lock (store-write.ts). Loading this module loads no native code.
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { NsboxError } from '../errors.js';
import { readJson } from '../state/atomic.js';
import { digestHex, imagePaths, RECORD_FILE } from './paths.js';
import type { ImageRecord, LayerMeta } from './record.js';
import { tryNormalizeImageName } from './reference.js';
import { compareText } from '../core/order.js';

export type { ImageConfig, ImageRecord, LayerMeta } from './record.js';

export function readImageRecord(root: string, id: string): ImageRecord | null {
  return readJson<ImageRecord>(imagePaths.record(root, id));
}

/** Every image, newest import first. */
export function listImageRecords(root: string): ImageRecord[] {
  let files: string[];
  try {
    files = readdirSync(imagePaths.dir(root));
  } catch {
    return [];
  }
  const records: ImageRecord[] = [];
  for (const f of files) {
    const m = RECORD_FILE.exec(f);
    if (!m) continue;
    const r = readImageRecord(root, m[1]!);
    if (r) records.push(r);
  }
  return records.sort((a, b) => compareText(b.createdAt, a.createdAt) || compareText(a.id, b.id));
}

export function readNamesIndex(root: string): Record<string, string> {
  return readJson<Record<string, string>>(imagePaths.names(root)) ?? {};
}

function notFound(ref: string): NsboxError {
  return new NsboxError('IMAGE_NOT_FOUND', `no image ${JSON.stringify(ref)}`, 'list images with `nsbox image ls`, or import one with `nsbox image import FILE`');
}

/**
 * An image by NAME[:TAG] (tag defaults to latest), full id (optionally
 * "sha256:"-prefixed) or unique id prefix. Names win over id prefixes.
 */
export function findImage(dataRoot: string, ref: string): ImageRecord {
  const trimmed = ref.trim();
  if (!trimmed) throw notFound(ref);
  const byId = trimmed.startsWith('sha256:') ? trimmed.slice(7) : null;
  if (byId === null) {
    const name = tryNormalizeImageName(trimmed);
    if (name) {
      const id = readNamesIndex(dataRoot)[name];
      const r = id ? readImageRecord(dataRoot, id) : null;
      if (r && r.names.includes(name)) return r;
      // the index may lag a crashed writer: fall back to the records
      const scanned = listImageRecords(dataRoot).find((x) => x.names.includes(name));
      if (scanned) return scanned;
    }
  }
  const prefix = byId ?? trimmed;
  if (/^[0-9a-f]{1,64}$/.test(prefix)) {
    const matches = listImageRecords(dataRoot).filter((r) => r.id.startsWith(prefix));
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1)
      throw new NsboxError('IMAGE_AMBIGUOUS', `image id prefix ${JSON.stringify(prefix)} matches ${matches.length} images`, 'give more of the id');
  }
  throw notFound(ref);
}

/** Absolute paths of the image's extracted layers, BOTTOM layer first (reverse for overlayfs lowerdir=). */
export function layerDirs(dataRoot: string, image: Pick<ImageRecord, 'layers'>): string[] {
  const root = resolve(dataRoot);
  return image.layers.map((d) => imagePaths.layerDiff(root, digestHex(d)));
}

export function readLayerMeta(dataRoot: string, diffId: string): LayerMeta | null {
  return readJson<LayerMeta>(imagePaths.layerMeta(dataRoot, digestHex(diffId)));
}

/**
 * The copy fallback where overlayfs is unavailable: merges the image's
 * layers into destDir (created if missing), applying whiteouts by deleting
 * and opaque directories by emptying. Runs in the user namespace, so owners
 * are kept as containers see them.
 */
export async function materializeRootfs(dataRoot: string, image: Pick<ImageRecord, 'id' | 'layers'>, destDir: string): Promise<void> {
  const layers = image.layers.map((d) => {
    const dir = imagePaths.layerDiff(resolve(dataRoot), digestHex(d));
    if (!existsSync(dir)) throw new NsboxError('IMAGE_DAMAGED', `layer ${d} of image ${image.id.slice(0, 12)} is missing from the store`, 'remove the image and import it again');
    return { dir, opaqueDirs: readLayerMeta(dataRoot, d)?.opaqueDirs ?? [] };
  });
  const { runWorker } = await import('./worker-client.js');
  await runWorker({ mode: 'materialize', layers, dest: resolve(destDir) }, () => {});
}
