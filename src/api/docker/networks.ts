// Docker's network endpoints on nsbox's user networks: list, inspect,
// create, remove, connect and disconnect. docker's own `bridge` and `none`
// are listed as the networks every pod of its own has (nsbox's builtin and
// none modes); they cannot be created, removed or connected.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NetworkInfo } from '../networks.js';
import { resolveContainer } from './containers.js';
import { findDockerContainer, writeDockerContainer } from './store.js';
import { badRequest, conflict, forbidden, notFound, parseFilters, readJsonBody, sendEmpty, sendJson } from './wire.js';
import type { ServiceContext } from './context.js';

const BUILTIN = ['bridge', 'none', 'host'];

function dockerNetwork(n: NetworkInfo) {
  return {
    Name: n.Name,
    Id: n.Id,
    Created: n.Created,
    Scope: 'local',
    Driver: 'bridge',
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: {}, Config: n.Subnets.map((s) => ({ Subnet: s.subnet, Gateway: s.gateway })) },
    Internal: n.Internal,
    Attachable: true,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: Object.fromEntries(Object.entries(n.Containers).map(([id, c]) => [id, { Name: c.Name, EndpointID: id, MacAddress: '', IPv4Address: c.IPv4Address, IPv6Address: '' }])),
    Options: { 'com.docker.network.bridge.name': n.NetworkInterface },
    Labels: n.Labels,
  };
}

function pseudo(name: string) {
  return { Name: name, Id: name, Created: new Date(0).toISOString(), Scope: 'local', Driver: name === 'bridge' ? 'bridge' : name === 'none' ? 'null' : 'host', EnableIPv6: false, IPAM: { Driver: 'default', Options: {}, Config: [] }, Internal: false, Attachable: false, Ingress: false, Containers: {}, Options: {}, Labels: {} };
}

async function lib() {
  return import('../networks.js');
}

async function find(ctx: ServiceContext, ref: string): Promise<NetworkInfo> {
  const { inspectNetwork, listNetworks } = await lib();
  const byId = listNetworks({ root: ctx.root }).find((n) => n.Id === ref || (ref.length >= 3 && n.Id.startsWith(ref)));
  if (byId) return byId;
  try {
    return inspectNetwork(ref, { root: ctx.root });
  } catch {
    throw notFound(`network ${ref} not found`);
  }
}

const FILTERS = ['name', 'id', 'label', 'driver', 'type'];

type DockerNetwork = Pick<ReturnType<typeof dockerNetwork>, 'Name' | 'Id' | 'Driver' | 'Labels'>;

/** docker's network filters: every label must hold; the other keys match any of their values. */
function matches(n: DockerNetwork, filters: Record<string, string[]>): boolean {
  return Object.entries(filters).every(([key, values]) =>
    values[key === 'label' ? 'every' : 'some']((v) => {
      if (key === 'name') return n.Name.includes(v);
      if (key === 'id') return n.Id.startsWith(v);
      if (key === 'driver') return n.Driver === v;
      if (key === 'type') return (v === 'builtin') === BUILTIN.includes(n.Name);
      const eq = v.indexOf('=');
      return eq < 0 ? v in n.Labels : n.Labels[v.slice(0, eq)] === v.slice(eq + 1);
    }),
  );
}

export async function listNetworksJson(ctx: ServiceContext, q: URLSearchParams, res: ServerResponse): Promise<void> {
  const filters = parseFilters(q);
  const unknown = Object.keys(filters).filter((k) => !FILTERS.includes(k));
  if (unknown.length) throw badRequest(`unsupported filter ${unknown.join(', ')}: nsbox filters networks by ${FILTERS.join(', ')}`);
  const { listNetworks } = await lib();
  const all: DockerNetwork[] = [...BUILTIN.map(pseudo), ...listNetworks({ root: ctx.root }).map(dockerNetwork)];
  sendJson(res, 200, all.filter((n) => matches(n, filters)));
}

export async function inspectNetworkJson(ctx: ServiceContext, ref: string, res: ServerResponse): Promise<void> {
  if (BUILTIN.includes(ref)) return sendJson(res, 200, pseudo(ref));
  sendJson(res, 200, dockerNetwork(await find(ctx, ref)));
}

export async function createNetworkJson(ctx: ServiceContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJsonBody<{ Name?: string; Driver?: string; Internal?: boolean; Labels?: Record<string, string>; IPAM?: { Config?: { Subnet?: string }[] }; EnableIPv6?: boolean }>(req);
  if (!body.Name) throw badRequest('a network needs a Name');
  if (BUILTIN.includes(body.Name)) throw forbidden(`${body.Name} is a pre-defined network and cannot be created`);
  if (body.Driver && body.Driver !== 'bridge') throw badRequest(`network driver ${JSON.stringify(body.Driver)} is not supported: nsbox networks are bridges`);
  if (body.EnableIPv6) throw badRequest('IPv6 networks are not supported');
  const { createNetwork, networkExists } = await lib();
  if (networkExists(body.Name, { root: ctx.root })) throw conflict(`network with name ${body.Name} already exists`);
  const subnet = body.IPAM?.Config?.[0]?.Subnet;
  const n = await createNetwork({ root: ctx.root, name: body.Name, ...(subnet ? { subnet } : {}), ...(body.Labels ? { labels: body.Labels } : {}), internal: !!body.Internal });
  sendJson(res, 201, { Id: n.Id, Warning: '' });
}

export async function removeNetworkJson(ctx: ServiceContext, ref: string, res: ServerResponse): Promise<void> {
  if (BUILTIN.includes(ref)) throw forbidden(`${ref} is a pre-defined network and cannot be removed`);
  const n = await find(ctx, ref);
  const members = Object.values(n.Containers).map((c) => c.Name);
  if (members.length) throw forbidden(`error while removing network: network ${n.Name} has active endpoints (${members.join(', ')})`);
  const { removeNetwork } = await lib();
  await removeNetwork(n.Name, { root: ctx.root });
  sendEmpty(res, 204);
}

async function podOfContainer(ctx: ServiceContext, ref: string): Promise<string> {
  const r = await resolveContainer(ctx, ref);
  const pod = r.docker?.pod ?? r.pod?.name;
  if (!pod || !r.pod) throw conflict(`container ${ref} is not running: nsbox connects running pods`);
  return pod;
}

/**
 * A created container not yet started: connecting it to the network it was
 * created on adds the aliases to what start will use (compose does this).
 * One created on the default network moves to this one, with the aliases
 * (testcontainers' withNetworkAliases creates it there, then connects it;
 * docker would keep it on bridge as well). Another network is refused,
 * since its pod is made on one network. Returns false when the container
 * has started (or its pod was made for files copied in), for the live connect.
 */
async function connectBeforeStart(ctx: ServiceContext, network: string, ref: string, aliases: string[]): Promise<boolean> {
  const { withStateLock } = await import('../../state/lock.js');
  return withStateLock(ctx.root, async () => {
    const d = findDockerContainer(ctx.root, ref);
    if (!d || d.started || d.made) return false;
    const moves = d.network === 'builtin' && d.ownPod;
    if (d.network !== network && !moves) throw conflict(`container ${d.Name} is created on ${d.network === 'builtin' ? 'the default network' : d.network} and not started: nsbox makes its pod on one network, so connect it to ${network} after it starts, or create it with --network ${network}`);
    // On a user network docker adds the short id as an alias, as create does.
    const kept = moves ? [d.Id.slice(0, 12)] : (d.networkAliases ?? []);
    writeDockerContainer(ctx.root, { ...d, network, networkAliases: [...new Set([...kept, ...aliases])] });
    return true;
  });
}

export async function connectNetworkJson(ctx: ServiceContext, ref: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJsonBody<{ Container?: string; EndpointConfig?: { Aliases?: string[] | null } }>(req);
  if (!body.Container) throw badRequest('connect needs a Container');
  const n = await find(ctx, ref);
  if (await connectBeforeStart(ctx, n.Name, body.Container, body.EndpointConfig?.Aliases ?? [])) return sendEmpty(res, 200);
  const pod = await podOfContainer(ctx, body.Container);
  const { connectNetwork } = await lib();
  await connectNetwork(n.Name, pod, { root: ctx.root, aliases: body.EndpointConfig?.Aliases ?? [] });
  sendEmpty(res, 200);
}

export async function disconnectNetworkJson(ctx: ServiceContext, ref: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJsonBody<{ Container?: string }>(req);
  if (!body.Container) throw badRequest('disconnect needs a Container');
  const n = await find(ctx, ref);
  const pod = await podOfContainer(ctx, body.Container);
  const { disconnectNetwork } = await lib();
  await disconnectNetwork(n.Name, pod, { root: ctx.root });
  sendEmpty(res, 200);
}
