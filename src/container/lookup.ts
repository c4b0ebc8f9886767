// Finding containers by "POD/NAME" and listing them across pods.
import { readdirSync } from 'node:fs';
import { NsboxError } from '../errors.js';
import { getPod } from '../api/pods.js';
import { listPodRecords } from '../pod/store.js';
import { readContainerRecord } from './record-store.js';
import { Container } from './container.js';
import { containerPaths, containersDir } from './files.js';
import type { ContainerRecord } from './record.js';
import { reduceContainerState } from '../core/lifecycle.js';
import { podStatus } from '../pod/record.js';
import { isAlive } from '../process/proc-stat.js';

export function parseContainerRef(ref: string): { pod: string; name: string } {
  const slash = ref.indexOf('/');
  if (slash <= 0 || slash === ref.length - 1 || ref.indexOf('/', slash + 1) >= 0)
    throw new NsboxError('INVALID_ARGUMENT', `invalid container reference ${JSON.stringify(ref)}`, 'containers are addressed as POD/NAME');
  return { pod: ref.slice(0, slash), name: ref.slice(slash + 1) };
}

export function getContainer(ref: string, opts: { root?: string } = {}): Container {
  const { pod, name } = parseContainerRef(ref);
  const c = new Container(getPod(pod, opts), name);
  c.record(); // throws a clear error when it does not exist
  return c;
}

/** The containers of every pod (or of one), oldest first, each in the state it is in now. */
export function listContainerRecords(root: string, podRef?: string): ContainerRecord[] {
  const pods = listPodRecords(root).filter((p) => podRef === undefined || p.name === podRef || p.id.startsWith(podRef));
  if (podRef !== undefined && pods.length === 0) throw new NsboxError('NO_SUCH_POD', `no such pod: ${podRef}`, 'list pods with `nsbox pod ls`');
  const out: ContainerRecord[] = [];
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
      if (r) out.push({ ...r, state: reduceContainerState(r.state, { processAlive: isAlive(r.process), podRunning }) });
    }
  }
  return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}
