// Anonymous volumes (`-v /path`) go with their container when it is removed
// with its volumes (`rm -v`, `--rm`), as docker's and podman's do. A mount's
// source is <data root>/volumes/NAME/_data, so the data root is known from it.
import { dirname } from 'node:path';
import type { Mount } from '../container/mounts.js';
import { readVolume, removeVolumeLocked, withVolumeLock } from './store.js';

export async function removeAnonymousVolumes(mounts: readonly Mount[] | undefined): Promise<void> {
  for (const m of mounts ?? []) {
    if (m.type !== 'volume' || !m.anonymous || !m.source) continue;
    const dataRoot = dirname(dirname(dirname(m.source)));
    await withVolumeLock(dataRoot, async () => {
      if (readVolume(dataRoot, m.name)?.anonymous) await removeVolumeLocked(dataRoot, m.name);
    });
  }
}
