// A Docker create request mapped onto nsbox's run options. What nsbox has
// is mapped; what it lacks is refused with a message, unless ignoring it
// changes nothing a container would notice (then it is a warning, as
// docker's Warnings carry).
import type { RunOptions } from '../../container/spec.js';
import { badRequest } from './wire.js';
import { parseAddHost } from '../../pod/extra-hosts.js';

export interface CreateBody {
  Image?: string;
  Cmd?: string[] | string | null;
  Entrypoint?: string[] | string | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
  Labels?: Record<string, string> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  AttachStdin?: boolean;
  StdinOnce?: boolean;
  Volumes?: Record<string, unknown> | null;
  ExposedPorts?: Record<string, unknown> | null;
  StopSignal?: string;
  StopTimeout?: number | null;
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number } | null;
  HostConfig?: HostConfig;
  [key: string]: unknown;
}

interface HostConfig {
  Binds?: string[] | null;
  Mounts?: { Type?: string; Source?: string; Target?: string; ReadOnly?: boolean; VolumeOptions?: { NoCopy?: boolean } }[] | null;
  Tmpfs?: Record<string, string> | null;
  PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null;
  PublishAllPorts?: boolean;
  AutoRemove?: boolean;
  RestartPolicy?: { Name?: string; MaximumRetryCount?: number } | null;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  ReadonlyRootfs?: boolean;
  Init?: boolean | null;
  ExtraHosts?: string[] | null;
  NetworkMode?: string;
  PidMode?: string;
  IpcMode?: string;
  UsernsMode?: string;
  Privileged?: boolean;
  Devices?: unknown[] | null;
  VolumesFrom?: string[] | null;
  Links?: string[] | null;
  SecurityOpt?: string[] | null;
  /** [rows, cols] of the client's terminal (API 1.42+; older clients resize after start). */
  ConsoleSize?: [number, number] | null;
  [key: string]: unknown;
}

/** Where the container goes: a pod of its own, or the pod of container X. */
export type Placement = { kind: 'own'; network: string; aliases: string[] } | { kind: 'join'; target: string };

export interface Translated {
  image: string;
  options: RunOptions;
  publish: string[];
  /** -P (HostConfig.PublishAllPorts): every exposed port, the body's and the image's, on a free host port. */
  publishAll: { exposed: string[] } | null;
  placement: Placement;
  autoRemove: boolean;
  stopTimeout?: number;
  /** HostConfig.ExtraHosts ("NAME:IP"), checked: the /etc/hosts entries of its pod. */
  addHosts: string[];
  warnings: string[];
}

const asArgv = (v: string[] | string | null | undefined): string[] | undefined => (v === null || v === undefined ? undefined : typeof v === 'string' ? [v] : v);

/** ns durations as docker gives them, in ms strings nsbox's durations take. */
const ms = (ns: number | undefined) => (ns ? `${Math.round(ns / 1e6)}ms` : undefined);

/** Resource limits nsbox does not set yet: the container runs, unlimited, and the client is told. */
const LIMITS = ['Memory', 'MemorySwap', 'MemoryReservation', 'NanoCpus', 'CpuShares', 'CpuPeriod', 'CpuQuota', 'CpusetCpus', 'CpusetMems', 'PidsLimit', 'BlkioWeight'];

/** Fields that, ignored, would change what runs (a sysctl, a resolver, a group): refused when set. */
const CHANGES_BEHAVIOUR = ['Sysctls', 'Dns', 'DnsSearch', 'DnsOptions', 'GroupAdd', 'OomKillDisable', 'Runtime', 'CgroupParent'];

function placementOf(hc: HostConfig, endpoints: Record<string, { Aliases?: string[] | null }>): Placement {
  const modes = { NetworkMode: hc.NetworkMode ?? '', PidMode: hc.PidMode ?? '', IpcMode: hc.IpcMode ?? '' };
  const joined = Object.values(modes).filter((m) => m.startsWith('container:')).map((m) => m.slice('container:'.length));
  for (const [field, mode] of Object.entries(modes)) {
    if (mode === 'host') throw badRequest(`HostConfig.${field}=host is refused: a rootless pod never shares the host's namespaces`);
  }
  if (joined.length) {
    if (new Set(joined).size > 1) throw badRequest(`NetworkMode, PidMode and IpcMode name different containers (${[...new Set(joined)].join(', ')}): nsbox pods share all three, so name one`);
    return { kind: 'join', target: joined[0]! };
  }
  const net = modes.NetworkMode;
  for (const [field, mode] of Object.entries(modes)) {
    if (mode && mode !== 'private' && mode !== 'shareable' && field !== 'NetworkMode') throw badRequest(`HostConfig.${field}=${mode} is not supported`);
  }
  if (net === '' || net === 'default' || net === 'bridge') return { kind: 'own', network: 'builtin', aliases: [] };
  if (net === 'none') return { kind: 'own', network: 'none', aliases: [] };
  // A user network (`docker network create`): the pod of its own is made on it.
  const others = Object.keys(endpoints).filter((n) => n !== net);
  if (others.length) throw badRequest(`a container is created on one network here (${net}); connect it to ${others.join(', ')} after it starts`);
  return { kind: 'own', network: net, aliases: endpoints[net]?.Aliases ?? [] };
}

function portsOf(hc: HostConfig): string[] {
  const out: string[] = [];
  for (const [key, bindings] of Object.entries(hc.PortBindings ?? {})) {
    const [port, proto = 'tcp'] = key.split('/');
    for (const b of bindings ?? [{}]) {
      // An empty HostPort is docker's "any free port": nsbox's 0.
      const host = b.HostPort || '0';
      out.push(`${b.HostIp ? `${b.HostIp}:` : ''}${host}:${port}/${proto}`);
    }
  }
  return out;
}

function mountsOf(hc: HostConfig): string[] {
  return (hc.Mounts ?? []).map((m) => {
    const type = (m.Type ?? 'volume').toLowerCase();
    if (type !== 'bind' && type !== 'volume' && type !== 'tmpfs') throw badRequest(`mount type ${JSON.stringify(m.Type)} is not supported: use bind, volume or tmpfs`);
    const parts = [`type=${type}`];
    if (m.Source) parts.push(`source=${m.Source}`);
    if (!m.Target) throw badRequest('a mount needs a Target');
    parts.push(`target=${m.Target}`);
    if (m.ReadOnly) parts.push('readonly');
    if (m.VolumeOptions?.NoCopy) parts.push('volume-nocopy');
    return parts.join(',');
  });
}

/**
 * -P's additions to `publish`: each exposed port ("80/tcp", or "80": tcp)
 * not bound already, on a free host port of every address, as docker does.
 */
export function publishAllSpecs(publish: string[], exposed: string[]): string[] {
  const bound = new Set(publish.map((spec) => `${spec.split(':').pop()!.split('/')[0]}/${spec.split('/')[1] ?? 'tcp'}`));
  const out: string[] = [];
  for (const key of exposed) {
    const [port, proto = 'tcp'] = key.split('/');
    const id = `${port}/${proto}`;
    if (bound.has(id)) continue;
    bound.add(id);
    out.push(`0:${id}`);
  }
  return out;
}

function refuseUnsupported(hc: HostConfig, warnings: string[]): void {
  if (hc.Privileged) throw badRequest('HostConfig.Privileged is refused: a rootless pod has no privileges to give');
  if (hc.UsernsMode && hc.UsernsMode !== '' && hc.UsernsMode !== 'private') throw badRequest(`HostConfig.UsernsMode=${hc.UsernsMode} is not supported: every pod has a user namespace of its own`);
  if (hc.Devices?.length) throw badRequest('HostConfig.Devices is not supported rootless');
  if (hc.VolumesFrom?.length) throw badRequest('HostConfig.VolumesFrom is not supported: share a named volume instead');
  if (hc.Links?.length) throw badRequest('HostConfig.Links is not supported: use --net=container:NAME to share localhost');
  for (const key of CHANGES_BEHAVIOUR) {
    const v = hc[key];
    if (Array.isArray(v) ? v.length : v && typeof v === 'object' ? Object.keys(v).length : v) throw badRequest(`HostConfig.${key} is not supported yet: the container would not get what it asks for`);
  }
  const log = (hc.LogConfig as { Type?: string } | undefined)?.Type;
  if (log && log !== 'json-file') throw badRequest(`log driver ${JSON.stringify(log)} is not supported: nsbox keeps json-file logs (docker logs reads them)`);
  if (typeof hc.ShmSize === 'number' && hc.ShmSize !== 0) warnings.push('HostConfig.ShmSize is not applied: /dev/shm keeps nsbox\'s size');
  if ((hc.Ulimits as unknown[] | undefined)?.length) warnings.push('HostConfig.Ulimits is not applied: nsbox sets no resource limits yet');
  for (const key of LIMITS) {
    const v = hc[key];
    if (typeof v === 'number' && v !== 0) warnings.push(`HostConfig.${key} is not applied: nsbox sets no resource limits yet`);
  }
}

/** Config.Volumes' paths that no bind, mount or tmpfs covers (clients such as compose list every mounted path there). */
function anonymousPaths(body: CreateBody, hc: HostConfig): string[] {
  const norm = (p: string) => p.replace(/\/+$/, '') || '/';
  const covered = new Set([
    ...(hc.Binds ?? []).map((b) => norm(b.split(':')[1] ?? b)),
    ...(hc.Mounts ?? []).map((m) => norm(m.Target ?? '')),
    ...Object.keys(hc.Tmpfs ?? {}).map(norm),
  ]);
  return Object.keys(body.Volumes ?? {}).filter((p) => !covered.has(norm(p)));
}

export function translateCreate(body: CreateBody): Translated {
  if (!body.Image) throw badRequest('Config.Image is required');
  const hc = body.HostConfig ?? {};
  const warnings: string[] = [];
  refuseUnsupported(hc, warnings);
  const placement = placementOf(hc, (body.NetworkingConfig as { EndpointsConfig?: Record<string, { Aliases?: string[] | null }> } | undefined)?.EndpointsConfig ?? {});
  const restart = hc.RestartPolicy?.Name ? (hc.RestartPolicy.Name === 'on-failure' && hc.RestartPolicy.MaximumRetryCount ? `on-failure:${hc.RestartPolicy.MaximumRetryCount}` : hc.RestartPolicy.Name) : undefined;
  if (restart === 'unless-stopped') warnings.push('restart policy unless-stopped runs as always');
  const health = body.Healthcheck?.Test;
  const options: RunOptions = {
    command: asArgv(body.Cmd),
    entrypoint: asArgv(body.Entrypoint),
    env: body.Env ?? undefined,
    workdir: body.WorkingDir || undefined,
    user: body.User || undefined,
    labels: body.Labels ?? undefined,
    restart: restart === 'unless-stopped' ? 'always' : restart || undefined,
    readOnly: hc.ReadonlyRootfs || undefined,
    capAdd: hc.CapAdd ?? undefined,
    capDrop: hc.CapDrop ?? undefined,
    stopSignal: body.StopSignal || undefined,
    // Config.Volumes ({"/path": {}}: `docker run -v /path`) are anonymous volumes.
    volumes: hc.Binds?.length || body.Volumes ? [...(hc.Binds ?? []), ...anonymousPaths(body, hc)] : undefined,
    mounts: hc.Mounts?.length ? mountsOf(hc) : undefined,
    tmpfs: hc.Tmpfs ? Object.entries(hc.Tmpfs).map(([path, opts]) => (opts ? `${path}:${opts}` : path)) : undefined,
    securityOpt: hc.SecurityOpt ?? undefined,
    // -i and -t: the pod's keeper holds the stdin pipe or the terminal and relays it to attachers.
    openStdin: body.OpenStdin || undefined,
    tty: body.Tty || undefined,
    stdinOnce: body.StdinOnce || undefined,
    ttySize: body.Tty && hc.ConsoleSize?.[0] && hc.ConsoleSize[1] ? { rows: hc.ConsoleSize[0], cols: hc.ConsoleSize[1] } : undefined,
    ...(health?.[0] === 'NONE'
      ? { noHealthcheck: true }
      : health?.length
        ? {
            healthCmd: health,
            healthInterval: ms(body.Healthcheck?.Interval),
            healthTimeout: ms(body.Healthcheck?.Timeout),
            healthStartPeriod: ms(body.Healthcheck?.StartPeriod),
            healthRetries: body.Healthcheck?.Retries || undefined,
          }
        : {}),
  };
  // An empty Entrypoint ([] or [""]) is docker's "no entrypoint".
  if (options.entrypoint && (options.entrypoint.length === 0 || (options.entrypoint.length === 1 && options.entrypoint[0] === ''))) options.entrypoint = [];
  const publish = portsOf(hc);
  return {
    image: body.Image,
    options: Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as RunOptions,
    publish,
    publishAll: hc.PublishAllPorts ? { exposed: Object.keys(body.ExposedPorts ?? {}) } : null,
    placement,
    autoRemove: !!hc.AutoRemove,
    addHosts: (hc.ExtraHosts ?? []).map((h) => {
      try {
        parseAddHost(h);
        return h;
      } catch (err) {
        throw badRequest(`HostConfig.ExtraHosts: ${(err as Error).message}`);
      }
    }),
    stopTimeout: body.StopTimeout ?? undefined,
    warnings,
  };
}
