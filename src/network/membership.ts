// Joining and leaving a user network: an address from its subnet, a veth
// pair (one end on the network's bridge, the other as ethN in the pod),
// wired by `ip` as the shared user namespace's root, which has
// CAP_NET_ADMIN over both network namespaces because the pod's user
// namespace is nested in it.
import { NsboxError } from '../errors.js';
import { closeFd } from '../native/ffi.js';
import type { PodNetwork, PodRecord } from '../pod/record.js';
import { listPodRecords, writePodRecord } from '../pod/store.js';
import { isAlive, type ProcIdentity } from '../process/proc-stat.js';
import { openIdentified, runIp } from './ip.js';
import type { NetworkRecord } from './record.js';
import { freeAddress, gatewayOf, parseSubnet } from './subnet.js';

export const sameProcess = (a: ProcIdentity | undefined, b: ProcIdentity | undefined) => !!a && !!b && a.pid === b.pid && a.startTime === b.startTime;

/**
 * The pod end's MAC, made from its address as docker does: an address used
 * again gets the same MAC, so the members' ARP caches stay right.
 */
export function macFor(ip: string): string {
  return ['02', '42', ...ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0'))].join(':');
}

function freeInterface(pod: PodRecord): string {
  const used = new Set(Object.values(pod.networks ?? {}).map((n) => n.interface));
  for (let i = 0; ; i++) if (!used.has(`eth${i}`)) return `eth${i}`;
}

/** Checks that the pod can join `net` now; throws a one-line error naming the fix. */
export function checkCanJoin(net: NetworkRecord, pod: PodRecord): void {
  if (pod.networks?.[net.name]) throw new NsboxError('ALREADY_CONNECTED', `pod ${pod.name} is already on network ${net.name}`, `disconnect it first: \`nsbox network disconnect ${net.name} ${pod.name}\``);
  if (!pod.nestedIn) throw new NsboxError('NOT_NESTED', `pod ${pod.name} was not created on a user network, so it cannot be connected to one`, `create it with \`--network ${net.name}\` (pods are nested in the networks' user namespace only at creation)`);
  if (pod.nestedIn !== net.userns) throw new NsboxError('NOT_NESTED', `pod ${pod.name} was created in an earlier network user namespace than network ${net.name}`, 'create the pod again to connect it');
  if (!isAlive(pod.pause)) throw new NsboxError('POD_NOT_RUNNING', `pod ${pod.name} is not running`, `remove it with \`nsbox pod rm -f ${pod.name}\``);
}

/** Wires the pod into the network and records it. Caller holds the state and network locks. */
export async function attach(root: string, net: NetworkRecord, pod: PodRecord, aliases: string[]): Promise<PodRecord> {
  checkCanJoin(net, pod);
  const subnet = parseSubnet(net.subnet);
  const taken = new Set([net.gateway, ...listPodRecords(root).flatMap((p) => (p.networks?.[net.name] ? [p.networks[net.name]!.ip] : []))]);
  const ip = freeAddress(subnet, taken);
  const iface = freeInterface(pod);
  const hostVeth = `nv${pod.id.slice(0, 11)}`;
  const holder = openIdentified(net.holder);
  if (holder === null) throw new NsboxError('NETWORK_DOWN', `network ${net.name}'s holder process is gone`, `remove it with \`nsbox network rm -f ${net.name}\` and create it again`);
  const podFd = openIdentified(pod.pause);
  try {
    if (podFd === null) throw new NsboxError('POD_NOT_RUNNING', `pod ${pod.name} is not running`, `remove it with \`nsbox pod rm -f ${pod.name}\``);
    await runIp(holder, [`link add ${hostVeth} type veth peer name ${iface} address ${macFor(ip)} netns ${pod.pause.pid}`, `link set ${hostVeth} master ${net.bridge}`, `link set ${hostVeth} up`], `connecting pod ${pod.name} to ${net.name}`);
    try {
      await runIp(podFd, [`addr add ${ip}/${subnet.prefix} dev ${iface}`, `link set ${iface} up`], `configuring ${iface} of pod ${pod.name}`);
    } catch (err) {
      await runIp(holder, [`link del ${hostVeth}`], 'undoing the veth').catch(() => {});
      throw err;
    }
  } finally {
    closeFd(holder);
    if (podFd !== null) closeFd(podFd);
  }
  const entry: PodNetwork = { networkId: net.id, ip, prefix: subnet.prefix, gateway: gatewayOf(subnet), aliases: [...new Set(aliases)], interface: iface, hostVeth };
  const updated: PodRecord = { ...pod, networks: { ...(pod.networks ?? {}), [net.name]: entry } };
  writePodRecord(root, updated);
  return updated;
}

/** Removes the pod's veth on the network (when both still run) and its record entry. */
export async function detach(root: string, net: NetworkRecord | null, pod: PodRecord, name: string): Promise<PodRecord> {
  const on = pod.networks?.[name];
  if (!on) throw new NsboxError('NOT_CONNECTED', `pod ${pod.name} is not on network ${name}`, `see \`nsbox pod inspect ${pod.name}\` for its networks`);
  const holder = net ? openIdentified(net.holder) : null;
  if (holder !== null) {
    try {
      // Gone with the pod's namespace already when the pod has exited.
      if (isAlive(pod.pause)) await runIp(holder, [`link del ${on.hostVeth}`], `disconnecting pod ${pod.name} from ${name}`);
    } finally {
      closeFd(holder);
    }
  }
  const networks = { ...(pod.networks ?? {}) };
  delete networks[name];
  const updated: PodRecord = { ...pod, networks };
  writePodRecord(root, updated);
  return updated;
}
