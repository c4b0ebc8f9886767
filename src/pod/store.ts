// Reads and writes pod records under the state root: pods/<id>/pod.json,
// written under the state lock by the pod's creator (and once more by stop),
// with a schema version, and checked when read: a record that is not one
// counts as missing. names/<name> points at the id, for lookups by name.
import { existsSync, mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { ifStateLockFree } from '../state/lock.js';
import { NsboxError } from '../errors.js';
import { readJson, writeRuntimeJson } from '../state/atomic.js';
import { dirname, join } from 'node:path';
import { statePaths } from '../state/paths.js';
import { MAX_NAME_LENGTH, NAME_PATTERN, type PodRecord } from './record.js';
import { compareText } from '../core/order.js';

export function validatePodName(name: string): void {
  if (!NAME_PATTERN.test(name) || name.length > MAX_NAME_LENGTH)
    throw new NsboxError(
      'INVALID_NAME',
      `invalid pod name ${JSON.stringify(name)}`,
      `names must match [a-zA-Z0-9][a-zA-Z0-9_.-]* and be at most ${MAX_NAME_LENGTH} characters`,
    );
}

/** The schema of pod.json this code writes; records without one (older) are read if their shape is right. */
export const POD_RECORD_SCHEMA = 1;

const isIdentity = (x: unknown): boolean => !!x && typeof x === 'object' && Number.isInteger((x as { pid?: unknown }).pid) && typeof (x as { startTime?: unknown }).startTime === 'string';

/** A pod record as written by a version of nsbox that this one can read; null for anything else. */
export function validPodRecord(x: unknown): PodRecord | null {
  if (!x || typeof x !== 'object') return null;
  const r = x as Partial<PodRecord> & { schema?: unknown };
  if (r.schema !== undefined && r.schema !== POD_RECORD_SCHEMA) return null;
  if (typeof r.id !== 'string' || !/^[0-9a-f]{64}$/.test(r.id) || typeof r.name !== 'string' || !NAME_PATTERN.test(r.name)) return null;
  if (typeof r.hostname !== 'string' || typeof r.createdAt !== 'string' || !isIdentity(r.pause) || !isIdentity(r.supervisor)) return null;
  if (r.supervisor!.mode !== 'library' && r.supervisor!.mode !== 'detached') return null;
  if (r.ports !== undefined && !Array.isArray(r.ports)) return null;
  if (r.keeperListeners !== undefined && !Number.isInteger(r.keeperListeners)) return null;
  return r as PodRecord;
}

export function readPodRecord(root: string, id: string): PodRecord | null {
  return validPodRecord(readJson(statePaths.podRecord(root, id)));
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
    const r = readPodRecord(root, id);
    if (r) records.push(r);
    else incomplete = true;
  }
  // A create in progress, or one killed before its record was written.
  if (incomplete) ifStateLockFree(root, () => sweepIncompletePods(root));
  return records.sort((a, b) => compareText(a.createdAt, b.createdAt));
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

/** The pod named `name` through the name index, if it is current (a stale link is ignored). */
export function findPodByName(root: string, name: string): PodRecord | null {
  let id: string;
  try {
    id = readlinkSync(statePaths.podName(root, name));
  } catch {
    return null;
  }
  if (!/^[0-9a-f]{64}$/.test(id)) return null;
  const r = readPodRecord(root, id);
  return r && r.name === name ? r : null;
}

/** Finds a pod by name, full id or unique id prefix (as podman does). */
export function findPod(root: string, ref: string): PodRecord {
  const indexed = findPodByName(root, ref);
  if (indexed) return indexed;
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

/** Writes the record (its creator, under the state lock; stop once more) and points the name at it. */
export function writePodRecord(root: string, r: PodRecord): void {
  mkdirSync(statePaths.podDir(root, r.id), { recursive: true, mode: 0o700 });
  writeRuntimeJson(statePaths.podRecord(root, r.id), { schema: POD_RECORD_SCHEMA, ...r });
  const link = statePaths.podName(root, r.name);
  try {
    if (readlinkSync(link) === r.id) return;
    unlinkSync(link); // a pod of that name that is gone
  } catch {
    // no link yet
  }
  mkdirSync(dirname(link), { recursive: true, mode: 0o700 });
  symlinkSync(r.id, link);
}

export function removePodState(root: string, id: string): void {
  rmSync(statePaths.podDir(root, id), { recursive: true, force: true });
}

/** Drops name links whose pod is gone (call it holding the state lock). */
export function sweepStaleNames(root: string): void {
  let names: string[];
  try {
    names = readdirSync(join(root, 'names'));
  } catch {
    return;
  }
  for (const name of names) {
    try {
      if (!existsSync(statePaths.podRecord(root, readlinkSync(statePaths.podName(root, name))))) unlinkSync(statePaths.podName(root, name));
    } catch {
      // raced with another sweep, or not a link
    }
  }
}

/** Drops the name's link if it still points at this pod (its state is gone or going). */
export function forgetPodName(root: string, r: Pick<PodRecord, 'id' | 'name'>): void {
  const link = statePaths.podName(root, r.name);
  try {
    if (readlinkSync(link) === r.id) unlinkSync(link);
  } catch {
    // none
  }
}
