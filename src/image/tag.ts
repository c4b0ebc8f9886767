// `nsbox image tag IMAGE NAME[:TAG]...`: more names for a stored image (a
// name points at one image: it moves here from wherever it was).
import { resolve } from 'node:path';
import { defaultDataRoot } from '../state/paths.js';
import type { ImageRecord } from './record.js';
import { normalizeImageName } from './reference.js';
import { findImage, listImageRecords } from './store.js';
import { withImageLock, writeImageRecords } from './store-write.js';

export async function tagImage(ref: string, names: string[], opts: { root?: string } = {}): Promise<ImageRecord> {
  const root = resolve(opts.root ?? defaultDataRoot());
  const wanted = names.map(normalizeImageName);
  const found = findImage(root, ref);
  return withImageLock(root, () => {
    const changes = new Map<string, ImageRecord | null>();
    for (const other of listImageRecords(root))
      if (other.id !== found.id && other.names.some((n) => wanted.includes(n))) changes.set(other.id, { ...other, names: other.names.filter((n) => !wanted.includes(n)) });
    const current = listImageRecords(root).find((r) => r.id === found.id) ?? found;
    const updated = { ...current, names: [...new Set([...current.names, ...wanted])] };
    changes.set(found.id, updated);
    writeImageRecords(root, changes);
    return updated;
  });
}
