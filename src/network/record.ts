// The persisted description of a user-defined network (networks/NAME/network.json)
// and of the shared network user namespace's holder (networks/userns.json).
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, writeJsonAtomic } from '../state/atomic.js';
import type { ProcIdentity } from '../process/proc-stat.js';

export interface NetworkRecord {
  schema: 1;
  name: string;
  id: string;
  /** CIDR, e.g. 10.89.0.0/24, and the bridge's address in it. */
  subnet: string;
  gateway: string;
  /** The bridge inside the network's namespace (nsbox0, nsbox1, ...). */
  bridge: string;
  index: number;
  internal: boolean;
  labels: Record<string, string>;
  createdAt: string;
  /** The pause holding the network's namespace, inside the shared user namespace. */
  holder: ProcIdentity;
  /** The shared user namespace it was made in (its /proc/PID/ns/user link). */
  userns: string;
}

export interface UsernsRecord {
  schema: 1;
  holder: ProcIdentity;
  /** Its user namespace, as /proc/PID/ns/user names it. */
  id: string;
}

export const networkPaths = {
  dir: (root: string) => join(root, 'networks'),
  lock: (root: string) => join(root, 'networks', 'lock'),
  userns: (root: string) => join(root, 'networks', 'userns.json'),
  network: (root: string, name: string) => join(root, 'networks', name),
  record: (root: string, name: string) => join(root, 'networks', name, 'network.json'),
};

export function ensureNetworksDir(root: string): void {
  mkdirSync(networkPaths.dir(root), { recursive: true, mode: 0o700 });
}

function valid(x: unknown): NetworkRecord | null {
  const r = x as NetworkRecord | null;
  return r && r.schema === 1 && typeof r.name === 'string' && typeof r.subnet === 'string' && r.holder && typeof r.holder.pid === 'number' ? r : null;
}

export function readNetworkRecord(root: string, name: string): NetworkRecord | null {
  return valid(readJson(networkPaths.record(root, name)));
}

export function listNetworkRecords(root: string): NetworkRecord[] {
  let names: string[];
  try {
    names = readdirSync(networkPaths.dir(root));
  } catch {
    return [];
  }
  return names
    .filter((n) => !n.includes('.') || !n.endsWith('.json'))
    .map((n) => readNetworkRecord(root, n))
    .filter((r): r is NetworkRecord => !!r)
    .sort((a, b) => a.index - b.index);
}

export function writeNetworkRecord(root: string, r: NetworkRecord): void {
  mkdirSync(networkPaths.network(root, r.name), { recursive: true, mode: 0o700 });
  writeJsonAtomic(networkPaths.record(root, r.name), r);
}

export function removeNetworkRecord(root: string, name: string): void {
  rmSync(networkPaths.network(root, name), { recursive: true, force: true });
}

export function readUsernsRecord(root: string): UsernsRecord | null {
  const r = readJson<UsernsRecord>(networkPaths.userns(root));
  return r && r.schema === 1 && r.holder && typeof r.holder.pid === 'number' && typeof r.id === 'string' ? r : null;
}

export function writeUsernsRecord(root: string, r: UsernsRecord): void {
  writeJsonAtomic(networkPaths.userns(root), r);
}

export function removeUsernsRecord(root: string): void {
  rmSync(networkPaths.userns(root), { force: true });
}
