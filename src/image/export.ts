// Layers and configs out of the store, as they came in: each layer's tar
// rebuilt byte for byte from its files and tar-split (in the user
// namespace, where the files' owners can be read), checked against its
// diff_id; the config bytes the image came with.
import { existsSync, readFileSync } from 'node:fs';
import { NsboxError } from '../errors.js';
import { digestHex, imagePaths } from './paths.js';
import type { ImageRecord } from './record.js';
import { runWorker } from './worker-client.js';

const AGAIN = 'remove the image and import or pull it again (it was stored by an older nsbox, or its files changed)';

/** Rebuilds each layer's tar at outFor(diffId); returns their sizes. Throws unless every tar hashes to its diff_id. */
export async function exportLayers(root: string, diffIds: string[], outFor: (diffId: string) => string): Promise<Map<string, number>> {
  const layers = diffIds.map((d) => {
    const dir = imagePaths.layer(root, digestHex(d));
    if (!existsSync(`${dir}/tar-split.json.gz`)) throw new NsboxError('LAYER_NOT_EXPORTABLE', `layer ${d} cannot be rebuilt: the store has no tar-split for it`, AGAIN);
    return { dir, out: outFor(d) };
  });
  const sizes = new Map<string, number>();
  await runWorker({ mode: 'export', layers }, (m) => {
    if (m.t !== 'exported') return;
    const want = diffIds[m.index]!;
    if (m.digest !== want) throw new NsboxError('LAYER_CHANGED', `layer ${want} rebuilt to ${m.digest}`, AGAIN);
    sizes.set(want, m.size);
  });
  for (const d of diffIds) if (!sizes.has(d)) throw new NsboxError('IMAGE_WORKER', `layer ${d} was not rebuilt`, 'run again with --debug');
  return sizes;
}

/** The config the image came with (its sha256 is the image id). */
export function imageConfigBytes(root: string, image: ImageRecord): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(imagePaths.config(root, image.id));
  } catch {
    throw new NsboxError('LAYER_NOT_EXPORTABLE', `image ${image.id.slice(0, 12)} has no stored config`, AGAIN);
  }
  return bytes;
}
