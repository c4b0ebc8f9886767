// Containers as docker's clients read them: /containers/json entries and
// /containers/{id}/json, from the docker record and the nsbox container.
import type { ContainerRecord } from '../../container/record.js';
import type { PortMapping } from '../../net/ports.js';
import { dockerName, type DockerContainer } from './store.js';
import { dockerState, type Resolved } from './containers.js';
import { healthOf } from './view-health.js';

const unix = (iso: string | null | undefined) => (iso ? Math.floor(Date.parse(iso) / 1000) : 0);

/** "3 seconds", "About a minute", "2 hours": docker's human durations. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 1) return 'Less than a second';
  if (s < 60) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.round(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  return `${Math.round(h / 24)} days`;
}

function statusText(state: string, r: ContainerRecord | null, created: string): string {
  const now = Date.now();
  if (state === 'created') return 'Created';
  if (state === 'running') return `Up ${humanDuration(now - Date.parse(r?.startedAt ?? created))}`;
  if (state === 'restarting') return `Restarting (${r?.exitCode ?? 0}) ${humanDuration(now - Date.parse(r?.finishedAt ?? created))} ago`;
  return `Exited (${r?.exitCode ?? 0}) ${humanDuration(now - Date.parse(r?.finishedAt ?? created))} ago`;
}

function ports(r: Resolved): PortMapping[] {
  return r.pod?.record.ports ?? [];
}

interface Ids {
  id: string;
  name: string;
  image: string;
  imageId: string;
  created: string;
  argv: string[];
  labels: Record<string, string>;
}

function idsOf(r: Resolved): Ids {
  const rec = r.container?.record() ?? null;
  const d: DockerContainer | null = r.docker;
  if (d)
    return {
      id: d.Id,
      name: d.Name,
      image: d.image,
      imageId: rec ? `sha256:${rec.image.id}` : '',
      created: d.Created,
      argv: rec?.argv ?? (d.kind === 'pause' ? ['/pause'] : [...((d.options.entrypoint as string[]) ?? []), ...((d.options.command as string[]) ?? [])]),
      labels: (d.options.labels as Record<string, string>) ?? {},
    };
  return { id: rec!.id, name: dockerName(rec!), image: rec!.image.name ?? rec!.image.id, imageId: `sha256:${rec!.image.id}`, created: rec!.createdAt, argv: rec!.argv, labels: rec!.labels ?? {} };
}

export function listEntry(r: Resolved) {
  const ids = idsOf(r);
  const rec = r.container?.record() ?? null;
  const state = dockerState(r);
  return {
    Id: ids.id,
    Names: [`/${ids.name}`],
    Image: ids.image,
    ImageID: ids.imageId,
    Command: ids.argv.join(' '),
    Created: unix(ids.created),
    Ports: ports(r).map((p) => ({ IP: p.hostIp, PrivatePort: p.podPort, PublicPort: p.hostPort, Type: p.protocol })),
    Labels: ids.labels,
    State: state,
    Status: statusText(state, rec, ids.created),
    HostConfig: { NetworkMode: r.docker && !r.docker.ownPod ? `container:${r.docker.pod}` : 'default' },
    NetworkSettings: { Networks: networksOf(r) },
    Mounts: (rec?.mounts ?? []).map((m) => ({ Type: m.type, Destination: m.target, ...('source' in m ? { Source: m.source } : {}), RW: !('readOnly' in m && m.readOnly) })),
  };
}

/** One network's endpoint as docker reports it; empty fields where nsbox has no such thing. */
function endpoint(aliases: string[] | null, on?: { networkId: string; ip: string; prefix: number; gateway: string }) {
  return {
    IPAMConfig: null,
    Links: null,
    Aliases: aliases,
    NetworkID: on?.networkId ?? '',
    EndpointID: on ? `${on.networkId.slice(0, 12)}-${on.ip}` : '',
    Gateway: on?.gateway ?? '',
    IPAddress: on?.ip ?? '',
    IPPrefixLen: on?.prefix ?? 0,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    MacAddress: '',
    DriverOpts: null,
  };
}

/**
 * NetworkSettings.Networks: the user networks the pod is on (from its record
 * once running; before start, the one it was created on), else docker's
 * bridge or none. compose reads the aliases to decide whether to connect.
 */
function networksOf(r: Resolved): Record<string, ReturnType<typeof endpoint>> {
  const live = r.pod?.record.networks ?? {};
  if (Object.keys(live).length) return Object.fromEntries(Object.entries(live).map(([name, on]) => [name, endpoint(on.aliases, on)]));
  const net = r.docker?.network ?? 'builtin';
  if (net === 'none') return { none: endpoint(null) };
  if (net === 'builtin') return { bridge: endpoint(null) };
  return { [net]: endpoint(r.docker?.networkAliases ?? []) };
}

export function inspection(r: Resolved) {
  const ids = idsOf(r);
  const rec = r.container?.record() ?? null;
  const state = dockerState(r);
  const hostConfig = r.docker?.hostConfig ?? {};
  const config = r.docker?.config ?? {};
  const portMap = Object.fromEntries(ports(r).map((p) => [`${p.podPort}/${p.protocol}`, [{ HostIp: p.hostIp, HostPort: String(p.hostPort) }]]));
  const pid = state === 'running' ? (r.docker?.kind === 'pause' ? (r.pod?.record.pause.pid ?? 0) : (rec?.process?.pid ?? 0)) : 0;
  return {
    Id: ids.id,
    Created: ids.created,
    Path: ids.argv[0] ?? '',
    Args: ids.argv.slice(1),
    State: {
      Status: state,
      Running: state === 'running',
      Paused: false,
      Restarting: state === 'restarting',
      OOMKilled: false,
      Dead: false,
      Pid: pid,
      ExitCode: rec?.exitCode ?? 0,
      Error: rec?.error ?? '',
      StartedAt: rec?.startedAt ?? '0001-01-01T00:00:00Z',
      FinishedAt: rec?.finishedAt ?? '0001-01-01T00:00:00Z',
      ...healthOf(r),
    },
    Image: ids.imageId,
    Name: `/${ids.name}`,
    RestartCount: rec?.restartCount ?? 0,
    Driver: 'overlay',
    Platform: 'linux',
    HostConfig: { NetworkMode: 'default', PortBindings: {}, RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, AutoRemove: false, ...hostConfig },
    Mounts: (rec?.mounts ?? []).map((m) => ({ Type: m.type, Destination: m.target, ...('source' in m ? { Source: m.source } : {}), ...('name' in m ? { Name: m.name } : {}), RW: !('readOnly' in m && m.readOnly) })),
    Config: {
      Hostname: r.pod?.record.hostname ?? ids.name,
      User: rec ? `${rec.user.uid}:${rec.user.gid}` : '',
      Env: rec?.env ?? [],
      Cmd: rec?.argv ?? null,
      Image: ids.image,
      WorkingDir: rec?.workdir ?? '',
      Labels: ids.labels,
      Tty: false,
      OpenStdin: false,
      AttachStdin: false,
      ...config,
    },
    NetworkSettings: { Ports: portMap, IPAddress: '', Networks: networksOf(r) },
    nsbox: { pod: r.docker?.pod ?? r.pod?.name ?? null, container: rec ? `${rec.podName}/${rec.name}` : null },
  };
}
