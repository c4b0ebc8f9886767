// Anonymous volumes (`-v /path`) go with their container when it is removed
// with its volumes (`rm -v`, `--rm`), as docker's and podman's do. A mount's
// source is <data root>/volumes/NAME/_data, so the data root is known from it.
import { dirname } from 'node:path';
import { readVolume, removeVolumeLocked, withVolumeLock } from './store.js';

/** What is read of a container's mount (container/mounts.ts's Mount; not imported, so volume/ needs nothing of container/). */
interface MountLike {
  type: string;
  name?: string;
  source?: string;
  anonymous?: boolean;
}

export async function removeAnonymousVolumes(mounts: readonly MountLike[] | undefined): Promise<void> {
  for (const m of mounts ?? []) {
    if (m.type !== 'volume' || !m.anonymous || !m.source || !m.name) continue;
    const [name, dataRoot] = [m.name, dirname(dirname(dirname(m.source)))];
    await withVolumeLock(dataRoot, async () => {
      if (readVolume(dataRoot, name)?.anonymous) await removeVolumeLocked(dataRoot, name);
    });
  }
}
