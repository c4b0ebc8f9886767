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
import { currentHealth } from './health-store.js';
import type { HealthStatus } from '../core/health.js';
import { compareText } from '../core/order.js';

/** A running container's health now (absent without a check). */
function healthNow(r: ContainerRecord, dir: string): { health?: HealthStatus } {
  const h = r.state === 'running' ? currentHealth(r, dir) : null;
  return h ? { health: h.Status } : {};
}

/** The containers of every pod (or of one), oldest first, each in the state it is in now (and health, when checked). */
export function listContainerRecords(root: string, podRef?: string): (ContainerRecord & { ref: string; health?: HealthStatus })[] {
  const pods = listPodRecords(root).filter((p) => podRef === undefined || p.name === podRef || p.id.startsWith(podRef));
  if (podRef !== undefined && pods.length === 0) throw new NsboxError('NO_SUCH_POD', `no such pod: ${podRef}`, 'list pods with `nsbox pod ls`');
  const out: (ContainerRecord & { ref: string; health?: HealthStatus })[] = [];
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
      const paths = containerPaths(root, p.id, n);
      const r = readContainerRecord(paths);
      if (!r) continue;
      const now = { ...r, state: reduceContainerState(r.state, { processAlive: isAlive(r.process), podRunning }) };
      // ref: how the verbs address it (NAME alone in a pod `run` made for it).
      out.push({ ...now, ref: p.ownedBy === r.name ? r.name : `${p.name}/${r.name}`, ...healthNow(now, paths.dir) });
    }
  }
  return out.sort((a, b) => compareText(a.createdAt, b.createdAt));
}
