// `nsbox image rm`: removes a name, or an image and the layers no other
// image uses. Layers leave images/layers/ by rename under the lock (so an
// import never sees half a layer) and are deleted afterwards, inside the
// user namespace, since their files belong to the mapped ids.
import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { NsboxError } from '../errors.js';
import { defaultDataRoot } from '../state/paths.js';
import { digestHex, imagePaths } from './paths.js';
import { tryNormalizeImageName } from './reference.js';
import { findImage, listImageRecords } from './store.js';
import { withImageLock, writeImageRecords } from './store-write.js';
import { removeTree } from './worker-client.js';

export interface RemoveImageOptions {
  /** Data root (default $XDG_DATA_HOME/nsbox, or NSBOX_ROOT). */
  root?: string;
  /** Remove an image that has several names when it is given by id. */
  force?: boolean;
  /** POD/NAME of the containers using the image (any: the removal is refused); the api layer looks them up. */
  usedBy?: string[] | ((imageId: string) => string[]);
}

export interface RemoveImageResult {
  /** Names removed. */
  untagged: string[];
  /** The id of the image removed, or null when only a name was. */
  deleted: string | null;
  /** Layers deleted because no other image uses them. */
  layersRemoved: number;
}

export async function removeImage(ref: string, opts: RemoveImageOptions = {}): Promise<RemoveImageResult> {
  const root = resolve(opts.root ?? defaultDataRoot());
  const found = findImage(root, ref); // a clear "no image" before taking the lock
  const usedBy = typeof opts.usedBy === 'function' ? opts.usedBy(found.id) : (opts.usedBy ?? []);
  if (usedBy.length > 0)
    throw new NsboxError('IMAGE_IN_USE', `image ${ref} is used by ${usedBy.length === 1 ? 'container' : 'containers'} ${usedBy.join(', ')}`, 'remove them first (nsbox rm)');

  const outcome = await withImageLock(root, () => {
    const image = findImage(root, ref);
    const name = ref.startsWith('sha256:') ? null : tryNormalizeImageName(ref);
    const byName = name !== null && image.names.includes(name);
    if (byName && image.names.length > 1) {
      writeImageRecords(root, new Map([[image.id, { ...image, names: image.names.filter((n) => n !== name) }]]));
      return { untagged: [name], deleted: null, trash: null, layersRemoved: 0 };
    }
    if (!byName && image.names.length > 1 && !opts.force)
      throw new NsboxError('IMAGE_AMBIGUOUS', `image ${image.id.slice(0, 12)} has several names (${image.names.join(', ')})`, 'remove them one by one by name, or use -f to remove the image');

    writeImageRecords(root, new Map([[image.id, null]]));
    rmSync(imagePaths.config(root, image.id), { force: true });
    const stillUsed = new Set(listImageRecords(root).flatMap((r) => r.layers));
    const unused = [...new Set(image.layers)].filter((d) => !stillUsed.has(d));
    let trash: string | null = null;
    let layersRemoved = 0;
    for (const d of unused) {
      const dir = imagePaths.layer(root, digestHex(d));
      if (!existsSync(dir)) continue;
      trash ??= mkdtempSync(join(imagePaths.tmp(root), `rm-${process.pid}-`));
      renameSync(dir, join(trash, digestHex(d)));
      layersRemoved++;
    }
    return { untagged: image.names, deleted: image.id, trash, layersRemoved };
  });
  if (outcome.trash) await removeTree(outcome.trash);
  return { untagged: outcome.untagged, deleted: outcome.deleted, layersRemoved: outcome.layersRemoved };
}
