// `nsbox volume create|ls|inspect|rm|prune|exists`: named volumes in the
// data root (volume/store.ts). A volume in use by a container, running or
// not, is kept unless removal is forced, which removes those containers
// first (podman's `volume rm -f`).
import { NsboxError, asNsboxError } from '../errors.js';
import { compileFilters, toLabels, type Labels } from '../core/filters.js';
import { defaultDataRoot, defaultRuntimeRoot } from '../state/paths.js';
import { listContainerRecords } from '../container/list.js';
import { randomHex } from '../process/random.js';
import { createVolumeLocked, listVolumeRecords, readVolume, removeVolumeLocked, requireVolume, volumePaths, withVolumeLock, type VolumeRecord } from '../volume/store.js';

export interface VolumeRootOptions {
  /** Where volumes live (the data root); default $XDG_DATA_HOME/nsbox, or NSBOX_ROOT. */
  root?: string;
  /** Where the pods whose containers may use them live; default `root` when given, else the runtime directory. */
  stateRoot?: string;
}

const roots = (o: VolumeRootOptions) => ({ dataRoot: o.root ?? defaultDataRoot(), stateRoot: o.stateRoot ?? o.root ?? defaultRuntimeRoot() });

/** podman's `volume inspect` fields (and `volume ls --format json`). */
export interface VolumeInspection {
  Name: string;
  Driver: 'local';
  Mountpoint: string;
  CreatedAt: string;
  Labels: Labels;
  Scope: 'local';
  Options: Record<string, string>;
  MountCount: number;
  NeedsChown: boolean;
  /** Filled from the image on its first use, unless mounted with nocopy (podman's NeedsCopyUp). */
  NeedsCopyUp: boolean;
  /** The containers (POD/NAME, or NAME in a pod of its own) that mount it. */
  UsedBy: string[];
}

/** The containers of the state root that mount each volume. */
function usersByVolume(stateRoot: string): Map<string, string[]> {
  const users = new Map<string, string[]>();
  for (const r of listContainerRecords(stateRoot))
    for (const m of r.mounts ?? []) if (m.type === 'volume') users.set(m.name, [...(users.get(m.name) ?? []), r.ref]);
  return users;
}

function inspection(dataRoot: string, v: VolumeRecord, usedBy: string[]): VolumeInspection {
  return {
    Name: v.name,
    Driver: 'local',
    Mountpoint: volumePaths.data(dataRoot, v.name),
    CreatedAt: v.createdAt,
    Labels: v.labels,
    Scope: 'local',
    Options: {},
    MountCount: usedBy.length,
    NeedsChown: v.needsChown,
    NeedsCopyUp: v.needsChown,
    UsedBy: usedBy,
  };
}

export async function createVolume(name: string | undefined, opts: VolumeRootOptions & { labels?: string[] | Labels; ignoreExisting?: boolean } = {}): Promise<VolumeInspection> {
  const { dataRoot } = roots(opts);
  const labels = asNsboxError(() => toLabels(opts.labels));
  const v = await withVolumeLock(dataRoot, () => createVolumeLocked(dataRoot, name ?? randomHex(32), { labels, ifMissing: opts.ignoreExisting }));
  return inspection(dataRoot, v, []);
}

export function listVolumes(opts: VolumeRootOptions & { filters?: string[] } = {}): VolumeInspection[] {
  const { dataRoot, stateRoot } = roots(opts);
  const matches = asNsboxError(() => compileFilters(opts.filters));
  for (const f of opts.filters ?? [])
    if (f.startsWith('status=')) throw new NsboxError('INVALID_ARGUMENT', `invalid filter ${JSON.stringify(f)}: volumes have no status`, 'use --filter name=TEXT or label=KEY[=VALUE]');
  const users = usersByVolume(stateRoot);
  return listVolumeRecords(dataRoot)
    .filter((v) => matches({ name: v.name, status: '', labels: v.labels }))
    .map((v) => inspection(dataRoot, v, users.get(v.name) ?? []));
}

export function inspectVolume(name: string, opts: VolumeRootOptions = {}): VolumeInspection {
  const { dataRoot, stateRoot } = roots(opts);
  return inspection(dataRoot, requireVolume(dataRoot, name), usersByVolume(stateRoot).get(name) ?? []);
}

export function volumeExists(name: string, opts: VolumeRootOptions = {}): boolean {
  return readVolume(roots(opts).dataRoot, name) !== null;
}

/**
 * Removes a volume and everything in it. In use by a container, it is kept
 * (the refusal names them) unless `force`, which removes those containers first.
 */
export async function removeVolume(name: string, opts: VolumeRootOptions & { force?: boolean } = {}): Promise<void> {
  const { dataRoot, stateRoot } = roots(opts);
  requireVolume(dataRoot, name);
  const usedBy = usersByVolume(stateRoot).get(name) ?? [];
  if (usedBy.length && !opts.force)
    throw new NsboxError('VOLUME_IN_USE', `volume ${name} is in use by ${usedBy.join(', ')}`, `remove ${usedBy.length > 1 ? 'them' : 'it'} first (nsbox rm -f ${usedBy.join(' ')}), or use volume rm -f`);
  if (usedBy.length) {
    const { getContainer } = await import('./containers.js');
    for (const ref of usedBy) await getContainer(ref, { root: stateRoot }).remove({ force: true });
  }
  await withVolumeLock(dataRoot, async () => {
    if (readVolume(dataRoot, name)) await removeVolumeLocked(dataRoot, name);
  });
}

/** Removes every volume no container uses; returns their names. */
export async function pruneVolumes(opts: VolumeRootOptions & { filters?: string[] } = {}): Promise<string[]> {
  const { dataRoot } = roots(opts);
  const unused = listVolumes(opts).filter((v) => v.MountCount === 0);
  const removed: string[] = [];
  await withVolumeLock(dataRoot, async () => {
    for (const v of unused) {
      if (!readVolume(dataRoot, v.Name)) continue;
      await removeVolumeLocked(dataRoot, v.Name);
      removed.push(v.Name);
    }
  });
  return removed;
}
