// Reads and writes pod records under the state root.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { NsboxError } from '../errors.js';
import { readJson, writeJsonAtomic } from '../state/atomic.js';
import { statePaths } from '../state/paths.js';
import { MAX_NAME_LENGTH, NAME_PATTERN, type PodRecord } from './record.js';

export function validatePodName(name: string): void {
  if (!NAME_PATTERN.test(name) || name.length > MAX_NAME_LENGTH)
    throw new NsboxError(
      'INVALID_NAME',
      `invalid pod name ${JSON.stringify(name)}`,
      `names must match [a-zA-Z0-9][a-zA-Z0-9_.-]* and be at most ${MAX_NAME_LENGTH} characters`,
    );
}

export function listPodRecords(root: string): PodRecord[] {
  let ids: string[];
  try {
    ids = readdirSync(statePaths.pods(root));
  } catch {
    return [];
  }
  const records: PodRecord[] = [];
  for (const id of ids) {
    if (!/^[0-9a-f]{64}$/.test(id)) continue; // temp dirs of a create in progress
    const r = readJson<PodRecord>(statePaths.podRecord(root, id));
    if (r) records.push(r);
  }
  return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** Finds a pod by name, full id or unique id prefix (as podman does). */
export function findPod(root: string, ref: string): PodRecord {
  const all = listPodRecords(root);
  const byName = all.find((r) => r.name === ref);
  if (byName) return byName;
  if (/^[0-9a-f]{3,64}$/.test(ref)) {
    const matches = all.filter((r) => r.id.startsWith(ref));
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) throw new NsboxError('AMBIGUOUS_POD', `pod id prefix ${ref} matches ${matches.length} pods`, 'give more characters of the id, or the name');
  }
  throw new NsboxError('NO_SUCH_POD', `no such pod: ${ref}`, 'list pods with `nsbox pod ls`');
}

export function writePodRecord(root: string, r: PodRecord): void {
  mkdirSync(statePaths.podDir(root, r.id), { recursive: true, mode: 0o700 });
  writeJsonAtomic(statePaths.podRecord(root, r.id), r);
}

export function removePodState(root: string, id: string): void {
  rmSync(statePaths.podDir(root, id), { recursive: true, force: true });
}
