// Where the image store lives under the data root:
//   images/<id>.json          one record per image (id: sha256 of its config)
//   images/names.json         the names index: "NAME:TAG" -> id
//   images/layers/<hex>/diff  an extracted layer, overlayfs lower-dir format
//   images/layers/<hex>/layer.json  what extraction found (size, opaque dirs)
//   images/configs/<id>.json  the image's config as it came (its sha256 is the id), for save and push
//   images/layers/<hex>/tar-split.json.gz  what rebuilds the layer's exact tar (tar-split.ts)
//   images/tmp/               imports in progress and layers being deleted
//   images/lock               flock serialising changes to records and layers
// <hex> is the layer's diff_id (sha256 of its uncompressed tar) without the
// "sha256:" prefix: a ':' would split overlayfs's lowerdir= option.
import { lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { NsboxError } from '../errors.js';

export const imagePaths = {
  dir: (root: string) => join(root, 'images'),
  record: (root: string, id: string) => join(root, 'images', `${id}.json`),
  names: (root: string) => join(root, 'images', 'names.json'),
  layers: (root: string) => join(root, 'images', 'layers'),
  layer: (root: string, hex: string) => join(root, 'images', 'layers', hex),
  layerDiff: (root: string, hex: string) => join(root, 'images', 'layers', hex, 'diff'),
  layerMeta: (root: string, hex: string) => join(root, 'images', 'layers', hex, 'layer.json'),
  tmp: (root: string) => join(root, 'images', 'tmp'),
  configs: (root: string) => join(root, 'images', 'configs'),
  config: (root: string, id: string) => join(root, 'images', 'configs', `${id}.json`),
};

export const RECORD_FILE = /^([0-9a-f]{64})\.json$/;
export const DIGEST = /^sha256:([0-9a-f]{64})$/;

/** "sha256:<hex>" -> "<hex>"; throws on anything else. */
export function digestHex(digest: string): string {
  const m = DIGEST.exec(digest);
  if (!m) throw new NsboxError('BAD_DIGEST', `unsupported digest ${JSON.stringify(digest)}`, 'only sha256 digests are supported');
  return m[1]!;
}

function ensureDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const st = lstatSync(path);
  const uid = process.getuid?.() ?? 0;
  if (!st.isDirectory()) throw new NsboxError('STATE_DIR', `image store ${path} is not a directory`, 'remove it or choose another data root with --root');
  if (st.uid !== uid) throw new NsboxError('STATE_DIR', `image store ${path} belongs to uid ${st.uid}, not ${uid}`, 'set XDG_DATA_HOME for this user or pass --root DIR');
}

/** Creates images/, layers/ and tmp/ (mode 0700) and checks they are ours. */
export function ensureImageDirs(root: string): void {
  ensureDir(imagePaths.dir(root));
  ensureDir(imagePaths.layers(root));
  ensureDir(imagePaths.tmp(root));
  ensureDir(imagePaths.configs(root));
}
