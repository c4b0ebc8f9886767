// User-defined networks: create, list, inspect, remove, and connecting
// pods to them. The mechanism is src/network/; here are the verbs and
// podman's JSON shape.
import { NsboxError, asNsboxError } from '../errors.js';
import { toLabels } from '../core/filters.js';
import { randomHex } from '../process/random.js';
import { isAlive } from '../process/proc-stat.js';
import { withFileLock, withStateLock } from '../state/lock.js';
import { defaultRuntimeRoot, ensureRuntimeRoot } from '../state/paths.js';
import { findPod, listPodRecords } from '../pod/store.js';
import type { PodRecord } from '../pod/record.js';
import { ensureUserns, startNetworkHolder, stopHolder, stopUsernsIfUnused } from '../network/holders.js';
import { refreshNetworkHosts } from '../network/hosts.js';
import { attach, detach } from '../network/membership.js';
import { validateAlias, validateNetworkName } from '../network/names.js';
import { ensureNetworksDir, listNetworkRecords, networkPaths, readNetworkRecord, removeNetworkRecord, writeNetworkRecord, type NetworkRecord } from '../network/record.js';
import { defaultSubnet, formatSubnet, gatewayOf, overlaps, parseSubnet } from '../network/subnet.js';
import { getPod, type RootOption } from './pods.js';

export interface CreateNetworkOptions extends RootOption {
  name: string;
  /** IPv4 CIDR (default: the first free 10.89.N.0/24). */
  subnet?: string;
  labels?: string[] | Record<string, string>;
  /** Recorded as podman does; a user network has no outbound access either way. */
  internal?: boolean;
}

/** podman's network JSON (network ls --format json, network inspect). */
export interface NetworkInfo {
  Name: string;
  Id: string;
  Driver: 'bridge';
  NetworkInterface: string;
  Created: string;
  Subnets: { subnet: string; gateway: string }[];
  IPv6Enabled: false;
  Internal: boolean;
  DNSEnabled: false;
  Labels: Record<string, string>;
  /** The pods on it, by pod id: their names, addresses and aliases. */
  Containers: Record<string, { Name: string; Interface: string; IPv4Address: string; Aliases: string[] }>;
  /** nsbox: the holder of its namespace is running. */
  Running: boolean;
}

const rootOf = (opts: RootOption) => ensureRuntimeRoot(opts.root ?? defaultRuntimeRoot());

function info(root: string, r: NetworkRecord, pods: PodRecord[] = listPodRecords(root)): NetworkInfo {
  const members = Object.fromEntries(
    pods.flatMap((p) => {
      const on = p.networks?.[r.name];
      return on ? [[p.id, { Name: p.name, Interface: on.interface, IPv4Address: `${on.ip}/${on.prefix}`, Aliases: on.aliases }]] : [];
    }),
  );
  return {
    Name: r.name,
    Id: r.id,
    Driver: 'bridge',
    NetworkInterface: r.bridge,
    Created: r.createdAt,
    Subnets: [{ subnet: r.subnet, gateway: r.gateway }],
    IPv6Enabled: false,
    Internal: r.internal,
    DNSEnabled: false,
    Labels: r.labels,
    Containers: members,
    Running: isAlive(r.holder),
  };
}

function findNetwork(root: string, name: string): NetworkRecord {
  const r = readNetworkRecord(root, name) ?? listNetworkRecords(root).find((n) => n.id.startsWith(name) && name.length >= 3);
  if (!r) throw new NsboxError('NO_SUCH_NETWORK', `no such network: ${name}`, 'list networks with `nsbox network ls`, or create it with `nsbox network create`');
  return r;
}

export const withNetworkLock = <T>(root: string, fn: () => Promise<T> | T) => {
  ensureNetworksDir(root);
  return withFileLock(networkPaths.lock(root), fn);
};

export async function createNetwork(opts: CreateNetworkOptions): Promise<NetworkInfo> {
  validateNetworkName(opts.name);
  const labels = asNsboxError(() => toLabels(opts.labels));
  const asked = opts.subnet !== undefined ? parseSubnet(opts.subnet) : null;
  const root = rootOf(opts);
  return withNetworkLock(root, async () => {
    const existing = listNetworkRecords(root);
    if (existing.some((n) => n.name === opts.name)) throw new NsboxError('DUPLICATE_NAME', `a network named ${opts.name} already exists`, `choose another name or remove it with \`nsbox network rm ${opts.name}\``);
    const used = existing.map((n) => parseSubnet(n.subnet));
    const clash = asked && existing.find((n) => overlaps(parseSubnet(n.subnet), asked));
    if (clash) throw new NsboxError('SUBNET_IN_USE', `subnet ${formatSubnet(asked)} overlaps network ${clash.name}'s ${clash.subnet}`, 'choose another --subnet');
    const subnet = asked ?? defaultSubnet(used);
    let index = 0;
    while (existing.some((n) => n.index === index)) index++;
    const bridge = `nsbox${index}`;
    const userns = await ensureUserns(root);
    let holder;
    try {
      holder = await startNetworkHolder(userns.holder, bridge, `${gatewayOf(subnet)}/${subnet.prefix}`);
    } catch (err) {
      stopUsernsIfUnused(root, existing.length);
      throw err;
    }
    const record: NetworkRecord = {
      schema: 1,
      name: opts.name,
      id: randomHex(32),
      subnet: formatSubnet(subnet),
      gateway: gatewayOf(subnet),
      bridge,
      index,
      internal: !!opts.internal,
      labels,
      createdAt: new Date().toISOString(),
      holder,
      userns: userns.id,
    };
    try {
      writeNetworkRecord(root, record);
    } catch (err) {
      stopHolder(holder);
      removeNetworkRecord(root, opts.name);
      stopUsernsIfUnused(root, existing.length);
      throw err;
    }
    return info(root, record, []);
  });
}

export function listNetworks(opts: RootOption = {}): NetworkInfo[] {
  const root = rootOf(opts);
  const pods = listPodRecords(root);
  return listNetworkRecords(root).map((r) => info(root, r, pods));
}

export function inspectNetwork(name: string, opts: RootOption = {}): NetworkInfo {
  const root = rootOf(opts);
  return info(root, findNetwork(root, name));
}

export function networkExists(name: string, opts: RootOption = {}): boolean {
  return !!readNetworkRecord(rootOf(opts), name);
}

/** Removes a network; refused while pods are on it, unless force, which removes those pods first (as podman removes the containers). */
export async function removeNetwork(name: string, opts: RootOption & { force?: boolean } = {}): Promise<void> {
  const root = rootOf(opts);
  const net = findNetwork(root, name);
  const members = () => listPodRecords(root).filter((p) => p.networks?.[net.name] && isAlive(p.pause));
  if (opts.force) for (const p of members()) await getPod(p.id, opts).remove({ force: true });
  await withNetworkLock(root, async () => {
    const left = members();
    if (left.length)
      throw new NsboxError('NETWORK_IN_USE', `network ${net.name} is in use by pod(s) ${left.map((p) => p.name).join(', ')}`, `remove or disconnect them first, or use \`nsbox network rm -f ${net.name}\` to remove them too`);
    stopHolder(net.holder);
    removeNetworkRecord(root, net.name);
    stopUsernsIfUnused(root, listNetworkRecords(root).length);
  });
}

export interface ConnectOptions extends RootOption {
  aliases?: string[];
}

/** Connects a running pod (one created on a user network) to another network. */
export async function connectNetwork(network: string, pod: string, opts: ConnectOptions = {}): Promise<void> {
  for (const a of opts.aliases ?? []) validateAlias(a);
  const root = rootOf(opts);
  await withStateLock(root, () =>
    withNetworkLock(root, async () => {
      const net = findNetwork(root, network);
      await attach(root, net, findPod(root, pod), opts.aliases ?? []);
      refreshNetworkHosts(root, [net.name]);
    }),
  );
}

export async function disconnectNetwork(network: string, pod: string, opts: RootOption = {}): Promise<void> {
  const root = rootOf(opts);
  await withStateLock(root, () =>
    withNetworkLock(root, async () => {
      const record = findPod(root, pod);
      const net = readNetworkRecord(root, network);
      if (!net && !record.networks?.[network]) findNetwork(root, network); // the error for a name that is nowhere
      const updated = await detach(root, net, record, network);
      refreshNetworkHosts(root, [network], [updated]);
    }),
  );
}
