// The image verbs of the library API (src/index.ts exports these).
import { resolve } from 'node:path';
import { defaultDataRoot } from '../state/paths.js';
import type { ImageRecord } from './record.js';
import { findImage, layerDirs, listImageRecords } from './store.js';

export interface ImageRootOption {
  /** Data root (default $XDG_DATA_HOME/nsbox, or NSBOX_ROOT). */
  root?: string;
}

export interface ImageInspection extends ImageRecord {
  /** The extracted layers on disk, bottom layer first. */
  layerDirs: string[];
}

/** Every image in the store, newest import first. */
export function listImages(opts: ImageRootOption = {}): ImageRecord[] {
  return listImageRecords(resolve(opts.root ?? defaultDataRoot()));
}

/** One image by NAME[:TAG], id or unique id prefix. */
export function inspectImage(ref: string, opts: ImageRootOption = {}): ImageInspection {
  const root = resolve(opts.root ?? defaultDataRoot());
  const image = findImage(root, ref);
  return { ...image, layerDirs: layerDirs(root, image) };
}
