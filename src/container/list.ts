// The containers of a state root's pods, read from their records (no handles).
import { readdirSync } from 'node:fs';
import { NsboxError } from '../errors.js';
import { listPodRecords } from '../pod/store.js';
import { readContainerRecord } from './record-store.js';
import { containerPaths, containersDir } from './files.js';
import type { ContainerRecord } from './record.js';
import { reduceContainerState } from '../core/lifecycle.js';
import { podStatus } from '../pod/record.js';
import { isAlive } from '../process/proc-stat.js';

/** The containers of every pod (or of one), oldest first, each in the state it is in now. */
export function listContainerRecords(root: string, podRef?: string): (ContainerRecord & { ref: string })[] {
  const pods = listPodRecords(root).filter((p) => podRef === undefined || p.name === podRef || p.id.startsWith(podRef));
  if (podRef !== undefined && pods.length === 0) throw new NsboxError('NO_SUCH_POD', `no such pod: ${podRef}`, 'list pods with `nsbox pod ls`');
  const out: (ContainerRecord & { ref: string })[] = [];
  for (const p of pods) {
    let names: string[] = [];
    try {
      names = readdirSync(containersDir(root, p.id));
    } catch {
      continue;
    }
    // Each record with its state now: a process or pod that died under it makes it exited.
    const podRunning = podStatus(p) === 'running';
    for (const n of names) {
      const r = readContainerRecord(containerPaths(root, p.id, n));
      // ref: how the verbs address it (NAME alone in a pod `run` made for it).
      if (r) out.push({ ...r, state: reduceContainerState(r.state, { processAlive: isAlive(r.process), podRunning }), ref: p.ownedBy === r.name ? r.name : `${p.name}/${r.name}` });
    }
  }
  return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}
