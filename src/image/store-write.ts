// Changes to the image store, made while holding images/lock.
import { existsSync, unlinkSync } from 'node:fs';
import { writeJsonAtomic } from '../state/atomic.js';
import { withStateLock } from '../state/lock.js';
import { ensureImageDirs, imagePaths } from './paths.js';
import type { ImageRecord } from './record.js';
import { listImageRecords } from './store.js';

/** Serialises changes to records and layers of one data root. */
export async function withImageLock<T>(root: string, fn: () => Promise<T> | T): Promise<T> {
  ensureImageDirs(root);
  return withStateLock(imagePaths.dir(root), fn);
}

/** Writes records (null deletes one) and rebuilds the names index from all records. */
export function writeImageRecords(root: string, changes: Map<string, ImageRecord | null>): void {
  for (const [id, record] of changes) {
    if (record) writeJsonAtomic(imagePaths.record(root, id), record);
    else if (existsSync(imagePaths.record(root, id))) unlinkSync(imagePaths.record(root, id));
  }
  const names: Record<string, string> = {};
  for (const r of listImageRecords(root)) for (const n of r.names) names[n] = r.id;
  writeJsonAtomic(imagePaths.names(root), names);
}
