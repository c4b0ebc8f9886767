// Named volumes: directories nsbox keeps in the data root, which outlive the
// containers that mount them and can be shared by several.
//   <data root>/volumes/<name>/volume.json   what the volume is (schema 1)
//   <data root>/volumes/<name>/_data         what containers see
// A volume is made whole in a temporary directory and renamed into place, so
// its name is claimed atomically and a half-made volume never has the name.
// Changes (creation, the first-use flag, removal) happen under volumes/.lock.
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { NsboxError } from '../errors.js';
import { isVolumeName, validateVolumeName } from './name.js';
import { readJson, writeJsonAtomic } from '../state/atomic.js';
import { withFileLock } from '../state/lock.js';
import { randomHex } from '../process/random.js';
import { removeTreeAsOwner } from '../idmap/remove-tree.js';

export const VOLUME_SCHEMA = 1;

export interface VolumeRecord {
  name: string;
  createdAt: string;
  labels: Record<string, string>;
  /** Set until the first container that mounts it has had the volume's owner and mode fitted to it (podman's NeedsChown). */
  needsChown: boolean;
  /** Made by `-v NAME:/path` rather than `volume create`. */
  implicit: boolean;
  /** Made by `-v /path` (no name): removed with its container by `rm -v` and `--rm`, as docker's. */
  anonymous?: boolean;
}

export const volumePaths = {
  all: (dataRoot: string) => join(dataRoot, 'volumes'),
  lock: (dataRoot: string) => join(dataRoot, 'volumes', '.lock'),
  dir: (dataRoot: string, name: string) => join(dataRoot, 'volumes', name),
  record: (dataRoot: string, name: string) => join(dataRoot, 'volumes', name, 'volume.json'),
  data: (dataRoot: string, name: string) => join(dataRoot, 'volumes', name, '_data'),
};

function validVolumeRecord(x: unknown, name: string): VolumeRecord | null {
  if (!x || typeof x !== 'object') return null;
  const r = x as Record<string, unknown>;
  if (r.schema !== VOLUME_SCHEMA || r.name !== name || typeof r.createdAt !== 'string' || typeof r.needsChown !== 'boolean') return null;
  const labels = r.labels && typeof r.labels === 'object' ? (r.labels as Record<string, string>) : {};
  return { name, createdAt: r.createdAt, labels, needsChown: r.needsChown, implicit: r.implicit === true, ...(r.anonymous === true ? { anonymous: true } : {}) };
}

export function withVolumeLock<T>(dataRoot: string, fn: () => Promise<T> | T): Promise<T> {
  mkdirSync(volumePaths.all(dataRoot), { recursive: true, mode: 0o700 });
  return withFileLock(volumePaths.lock(dataRoot), fn);
}

export function readVolume(dataRoot: string, name: string): VolumeRecord | null {
  if (!isVolumeName(name)) return null;
  return validVolumeRecord(readJson(volumePaths.record(dataRoot, name)), name);
}

export function requireVolume(dataRoot: string, name: string): VolumeRecord {
  const v = readVolume(dataRoot, name);
  if (!v) throw new NsboxError('NO_SUCH_VOLUME', `no such volume: ${name}`, 'see `nsbox volume ls`, or create it with `nsbox volume create`');
  return v;
}

export function listVolumeRecords(dataRoot: string): VolumeRecord[] {
  let names: string[];
  try {
    names = readdirSync(volumePaths.all(dataRoot));
  } catch {
    return [];
  }
  return names
    .sort()
    .map((n) => readVolume(dataRoot, n))
    .filter((v): v is VolumeRecord => v !== null);
}

/** Call under the volume lock. Refuses a name in use unless `ifMissing`, which returns the one there. */
export function createVolumeLocked(dataRoot: string, name: string, opts: { labels?: Record<string, string>; implicit?: boolean; anonymous?: boolean; ifMissing?: boolean } = {}): VolumeRecord {
  validateVolumeName(name);
  const existing = readVolume(dataRoot, name);
  if (existing) {
    if (opts.ifMissing) return existing;
    throw new NsboxError('VOLUME_EXISTS', `volume ${name} already exists`, `use it as it is, or remove it first with \`nsbox volume rm ${name}\``);
  }
  const all = volumePaths.all(dataRoot);
  const tmp = mkdtempSync(join(all, `.new-${randomHex(4)}-`));
  const record: VolumeRecord = { name, createdAt: new Date().toISOString(), labels: opts.labels ?? {}, needsChown: true, implicit: !!opts.implicit, ...(opts.anonymous ? { anonymous: true } : {}) };
  try {
    // The host user owns it and containers see it as root's (rootless, the user is the pod's root); 0755 as docker makes them.
    mkdirSync(join(tmp, '_data'), { mode: 0o755 });
    writeJsonAtomic(join(tmp, 'volume.json'), { schema: VOLUME_SCHEMA, ...record });
    renameSync(tmp, volumePaths.dir(dataRoot, name));
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if ((err as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new NsboxError('VOLUME_EXISTS', `${volumePaths.dir(dataRoot, name)} exists but is not a volume nsbox can read`, `move it away, or choose another volume name`);
    throw err;
  }
  return record;
}

/** Call under the volume lock. */
export function markVolumeChowned(dataRoot: string, name: string): void {
  const v = requireVolume(dataRoot, name);
  writeJsonAtomic(volumePaths.record(dataRoot, name), { schema: VOLUME_SCHEMA, ...v, needsChown: false });
}

/** Call under the volume lock. Files containers wrote may belong to subordinate ids: removed as their owner. */
export async function removeVolumeLocked(dataRoot: string, name: string): Promise<void> {
  const dir = volumePaths.dir(dataRoot, name);
  // Renamed first, so the name is free at once and a failed removal leaves no half volume under it.
  const doomed = join(volumePaths.all(dataRoot), `.old-${randomHex(4)}-${name}`);
  renameSync(dir, doomed);
  await removeTreeAsOwner(doomed);
}
