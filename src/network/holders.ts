// The processes that hold the namespaces of user networks: one pause for
// the shared network user namespace (full pod mapping), one per network
// for its network namespace inside it. Both are persistent (no parent-death
// signal, a session of their own): they outlive the process that made them
// and are found again through their records.
import { chooseMapping } from '../idmap/mapping.js';
import { closeFd, kill } from '../native/ffi.js';
import { startPause } from '../pod/pause-process.js';
import { isAlive, type ProcIdentity } from '../process/proc-stat.js';
import { openIdentified, runIp } from './ip.js';
import { readlinkSync } from 'node:fs';
import { listNetworkRecords, readUsernsRecord, removeUsernsRecord, writeUsernsRecord, type UsernsRecord } from './record.js';

const SIGKILL = 9;

async function startHolder(nestIn?: { pidfd: number; newUserns: boolean }): Promise<ProcIdentity> {
  const pause = await startPause({ hostname: 'nsbox-net', mapping: chooseMapping(), nestIn, persistent: true });
  closeFd(pause.pidfd);
  return { pid: pause.pid, startTime: pause.startTime };
}

export function usernsOf(id: ProcIdentity): string | null {
  try {
    return isAlive(id) ? readlinkSync(`/proc/${id.pid}/ns/user`) : null;
  } catch {
    return null;
  }
}

/**
 * The shared user namespace's holder: the recorded one; when it is gone (a
 * stale record), a new pause in the same namespace if a network's holder
 * still keeps it, else a new namespace. Caller holds the network lock.
 */
export async function ensureUserns(root: string): Promise<UsernsRecord> {
  const rec = readUsernsRecord(root);
  if (rec && usernsOf(rec.holder) === rec.id) return rec;
  const keeping = listNetworkRecords(root).find((n) => rec && usernsOf(n.holder) === rec.id);
  const fd = keeping ? openIdentified(keeping.holder) : null;
  let holder: ProcIdentity;
  try {
    holder = await startHolder(fd !== null ? { pidfd: fd, newUserns: false } : undefined);
  } finally {
    if (fd !== null) closeFd(fd);
  }
  const id = usernsOf(holder);
  if (!id) throw new Error('the network user namespace holder exited at once');
  const fresh: UsernsRecord = { schema: 1, holder, id };
  writeUsernsRecord(root, fresh);
  return fresh;
}

/** A pidfd of a live holder; null when it is gone. */
export const holderPidfd = (id: ProcIdentity): number | null => openIdentified(id);

/** Starts a network's holder in the shared user namespace and makes its bridge. */
export async function startNetworkHolder(userns: ProcIdentity, bridge: string, gatewayCidr: string): Promise<ProcIdentity> {
  const ufd = openIdentified(userns);
  if (ufd === null) throw new Error('the network user namespace holder exited');
  let holder: ProcIdentity;
  try {
    holder = await startHolder({ pidfd: ufd, newUserns: false });
  } finally {
    closeFd(ufd);
  }
  const hfd = openIdentified(holder);
  try {
    if (hfd === null) throw new Error('the network holder exited at once');
    // No forwarding out, no route to the host: the bridge is all there is.
    await runIp(hfd, [`link add ${bridge} type bridge`, `addr add ${gatewayCidr} dev ${bridge}`, `link set ${bridge} up`], `creating bridge ${bridge}`);
  } catch (err) {
    stopHolder(holder);
    throw err;
  } finally {
    if (hfd !== null) closeFd(hfd);
  }
  return holder;
}

/** Ends a holder (checked by pid and start time, never by name). */
export function stopHolder(id: ProcIdentity): void {
  if (isAlive(id)) kill(id.pid, SIGKILL);
}

/** The shared holder goes once no network is left. */
export function stopUsernsIfUnused(root: string, networksLeft: number): void {
  if (networksLeft > 0) return;
  const rec = readUsernsRecord(root);
  if (rec) stopHolder(rec.holder);
  removeUsernsRecord(root);
}
