// Gives a container its named volumes: makes the ones that do not exist yet
// (as `-v NAME:/path` does in docker and podman), points each mount at the
// volume's directory, and on a volume's first use fills it from the image
// (copy-up, unless nocopy) and fits its owner and mode to
// the container, as podman does (NeedsChown): the owner and mode of the
// image's own directory at the mount point, else the container's user. So a
// postgres running as uid 999 can write its fresh volume, rootless too.
import { lstatSync, mkdtempSync, readdirSync, rmSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MS, type ChildStep } from '../native/plan.js';
import { NsboxError } from '../errors.js';
import { chooseMapping, containerIdOf } from '../idmap/mapping.js';
import { spawnInUserns } from '../idmap/userns-process.js';
import type { Mount } from './mounts.js';
import { createVolumeLocked, markVolumeChowned, volumePaths, withVolumeLock } from '../volume/store.js';

interface Owner {
  uid: number;
  gid: number;
  /** Permission bits to set; null: leave them. */
  mode: number | null;
}

/**
 * The owner (as the container sees it) and mode of the directory at `target`
 * in the top layer that has it. Nothing on the way is followed on the host
 * (each step is lstat'ed, and the layers are the store's, which nothing
 * changes): an image's link there gives no answer, and the container's user
 * decides. lstat, not open, so a 0700 directory of a subordinate id answers.
 */
function imageDirOwner(layerDirs: string[], target: string): Owner | null {
  const mapping = chooseMapping();
  const parts = target.split('/').filter(Boolean);
  for (const dir of [...layerDirs].reverse()) {
    let path = dir;
    let st: Stats | undefined;
    for (const part of parts) {
      path = join(path, part);
      try {
        st = lstatSync(path);
      } catch (err) {
        st = undefined;
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') break;
        return null; // unreadable on the way
      }
      if (!st.isDirectory()) return null; // a link, a whiteout (0/0 device) or a file on the way
    }
    if (!st) continue; // not in this layer
    const uid = containerIdOf(mapping, st.uid, 'uid');
    const gid = containerIdOf(mapping, st.gid, 'gid');
    return uid === null || gid === null ? null : { uid, gid, mode: st.mode & 0o7777 };
  }
  return null;
}

/**
 * docker's and podman's copy-up: a fresh, empty volume mounted where the
 * image has a directory gets that directory's contents (an nginx html
 * volume starts with its index.html). The layers are mounted read-only as
 * one overlay in a mount namespace of our own and copied as root of a user
 * namespace with the pod's mapping, so owners stay what the image says; the
 * path there was checked to hold no link on the way (imageDirOwner).
 */
async function copyUp(layerDirs: string[], target: string, dest: string): Promise<void> {
  if (imageDirOwner(layerDirs, target) === null || readdirSync(dest).length > 0) return;
  const rel = target.replace(/^\/+/, '');
  const mnt = mkdtempSync(join(tmpdir(), 'nsbox-copyup-'));
  try {
    const single = layerDirs.length === 1;
    const from = single ? join(layerDirs[0]!, rel) : join(mnt, rel);
    const setup: ChildStep[] = single ? [] : [{ op: 'mount', source: 'overlay', target: mnt, fstype: 'overlay', flags: MS.RDONLY, data: `lowerdir=${[...layerDirs].reverse().join(':')},userxattr`, scope: 'host' }];
    const { exit } = await spawnInUserns({ argv: ['/bin/cp', '-a', '--', `${from}/.`, dest], env: ['PATH=/usr/bin:/bin'], stdio: [-1, -1, 2], ownMountNamespace: !single, setup });
    const status = await exit;
    if (status.code !== 0) throw new NsboxError('VOLUME_PREPARE', `cannot fill the new volume at ${dest} from the image's ${target} (cp exited with ${status.code ?? `signal ${status.signal}`})`, 'mount it with nocopy (-v NAME:PATH:nocopy) to start it empty');
  } finally {
    rmSync(mnt, { recursive: true, force: true });
  }
}

async function fitOwner(path: string, owner: Owner): Promise<void> {
  const script = owner.mode === null ? 'exec chown -- "$1" "$3"' : 'chown -- "$1" "$3" && exec chmod -- "$2" "$3"';
  const argv = ['/bin/sh', '-c', script, 'sh', `${owner.uid}:${owner.gid}`, (owner.mode ?? 0).toString(8), path];
  const { exit } = await spawnInUserns({ argv, env: ['PATH=/usr/bin:/bin'], stdio: [-1, -1, 2] });
  const status = await exit;
  if (status.code !== 0)
    throw new NsboxError('VOLUME_PREPARE', `cannot give volume directory ${path} to ${owner.uid}:${owner.gid} (exit ${status.code ?? `signal ${status.signal}`})`, 'check that the ranges in /etc/subuid and /etc/subgid cover that id');
}

export interface AttachInput {
  dataRoot: string;
  mounts: Mount[];
  user: { uid: number; gid: number };
  layerDirs: string[];
}

/** The mounts with each volume's source filled in; volumes made and fitted as needed. */
export async function attachVolumes(input: AttachInput): Promise<Mount[]> {
  if (!input.mounts.some((m) => m.type === 'volume')) return input.mounts;
  return withVolumeLock(input.dataRoot, async () => {
    const out: Mount[] = [];
    for (const m of input.mounts) {
      if (m.type !== 'volume') {
        out.push(m);
        continue;
      }
      const volume = createVolumeLocked(input.dataRoot, m.name, { implicit: true, ifMissing: true, ...(m.anonymous ? { anonymous: true } : {}) });
      const source = volumePaths.data(input.dataRoot, m.name);
      if (volume.needsChown) {
        if (!m.noCopy) await copyUp(input.layerDirs, m.target, source);
        const owner = imageDirOwner(input.layerDirs, m.target) ?? { ...input.user, mode: null };
        if (owner.uid !== 0 || owner.gid !== 0 || (owner.mode !== null && owner.mode !== 0o755)) await fitOwner(source, owner);
        markVolumeChowned(input.dataRoot, m.name);
      }
      out.push({ ...m, source });
    }
    return out;
  });
}
