// What createPod does for a pod on user networks: find the networks (a
// holder that died is started again, so a stale record heals), hand the
// shared user namespace to the pause plan, then wire the pod in once its
// record exists. Caller holds the state and network locks.
import { NsboxError } from '../errors.js';
import { closeFd } from '../native/ffi.js';
import type { PodRecord } from '../pod/record.js';
import { ensureUserns, startNetworkHolder, stopHolder, usernsOf } from './holders.js';
import { refreshNetworkHosts } from './hosts.js';
import { openIdentified } from './ip.js';
import { attach } from './membership.js';
import { validateAlias, validateNetworkName } from './names.js';
import { readNetworkRecord, writeNetworkRecord, type NetworkRecord, type UsernsRecord } from './record.js';

export interface NetworkSpec {
  name: string;
  aliases?: string[];
}

export interface PreparedJoin {
  userns: UsernsRecord;
  /** A pidfd of the shared user namespace's holder, for the pause plan; the caller closes it. */
  pidfd: number;
  nets: { net: NetworkRecord; aliases: string[] }[];
}

/** Checks names and aliases before anything is made. */
export function checkNetworkSpecs(specs: NetworkSpec[]): void {
  const seen = new Set<string>();
  for (const s of specs) {
    validateNetworkName(s.name);
    if (seen.has(s.name)) throw new NsboxError('INVALID_NETWORK', `network ${s.name} is given twice`, 'name each network once');
    seen.add(s.name);
    for (const a of s.aliases ?? []) validateAlias(a);
  }
}

/** A network whose holder is gone (or in an older user namespace) gets a new holder and bridge. */
async function revive(root: string, net: NetworkRecord, userns: UsernsRecord): Promise<NetworkRecord> {
  if (usernsOf(net.holder) === userns.id) return net;
  stopHolder(net.holder); // in a namespace nobody can join any more
  const holder = await startNetworkHolder(userns.holder, net.bridge, `${net.gateway}/${net.subnet.split('/')[1]}`);
  const revived = { ...net, holder, userns: userns.id };
  writeNetworkRecord(root, revived);
  return revived;
}

export async function prepareJoin(root: string, specs: NetworkSpec[]): Promise<PreparedJoin> {
  const found = specs.map((s) => {
    const net = readNetworkRecord(root, s.name);
    if (!net) throw new NsboxError('NO_SUCH_NETWORK', `no such network: ${s.name}`, `create it with \`nsbox network create ${s.name}\`, or use --network builtin, pasta or none`);
    return { net, aliases: [...new Set(s.aliases ?? [])] };
  });
  const userns = await ensureUserns(root);
  const nets = [];
  for (const f of found) nets.push({ net: await revive(root, f.net, userns), aliases: f.aliases });
  const pidfd = openIdentified(userns.holder);
  if (pidfd === null) throw new NsboxError('NETWORK_DOWN', 'the network user namespace holder exited', 'try again');
  return { userns, pidfd, nets };
}

export async function joinAll(root: string, record: PodRecord, prepared: PreparedJoin): Promise<PodRecord> {
  let r: PodRecord = record;
  for (const { net, aliases } of prepared.nets) r = await attach(root, net, r, aliases);
  refreshNetworkHosts(root, prepared.nets.map((n) => n.net.name));
  return r;
}

export const closePrepared = (p: PreparedJoin | null) => p && p.pidfd >= 0 && closeFd(p.pidfd);
