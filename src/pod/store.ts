// Reads and writes pod records under the state root.
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { ifStateLockFree } from '../state/lock.js';
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
  let incomplete = false;
  for (const id of ids) {
    if (!/^[0-9a-f]{64}$/.test(id)) continue;
    const r = readJson<PodRecord>(statePaths.podRecord(root, id));
    if (r) records.push(r);
    else incomplete = true;
  }
  // A create in progress, or one killed before its record was written.
  if (incomplete) ifStateLockFree(root, () => sweepIncompletePods(root));
  return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/**
 * Removes pod directories without a record. Call it holding the state lock:
 * creates write the record under that lock, so any such directory then
 * belongs to a create that died (kill -9 of the CLI) and nothing else.
 */
export function sweepIncompletePods(root: string): void {
  let ids: string[];
  try {
    ids = readdirSync(statePaths.pods(root));
  } catch {
    return;
  }
  for (const id of ids) {
    if (/^[0-9a-f]{64}$/.test(id) && !existsSync(statePaths.podRecord(root, id))) removePodState(root, id);
  }
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
