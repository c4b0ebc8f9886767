// Containers addressed as POD/NAME: lookup, listing, and how `ps` shows them.
import { NsboxError } from '../errors.js';
import { Container } from './container.js';
import { getPod } from './pods.js';
import { compileFilters } from '../core/filters.js';
import { asNsboxError } from '../errors.js';
import { describeStatus as statusText, type ContainerRecord as Record_ } from '../container/record.js';
import { artifacts } from '../native/artifacts.js';
import type { Mount } from '../container/mounts.js';
import type { HealthConfig } from '../core/health.js';
import { containerHealth } from './health.js';

export { listContainerRecords } from '../container/list.js';
export { describeStatus, type ContainerRecord, type ContainerState } from '../container/record.js';
export type { RunOptions, RestartPolicy } from '../container/spec.js';
export { formatRestartPolicy } from '../container/spec.js';
export { Container } from './container.js';

export function parseContainerRef(ref: string): { pod: string; name: string } {
  const slash = ref.indexOf('/');
  // A bare NAME is the container `run` made its own pod for (the pod has its name).
  if (slash < 0 && ref.length > 0) return { pod: ref, name: ref };
  if (slash <= 0 || slash === ref.length - 1 || ref.indexOf('/', slash + 1) >= 0)
    throw new NsboxError('INVALID_ARGUMENT', `invalid container reference ${JSON.stringify(ref)}`, 'containers are addressed as POD/NAME');
  return { pod: ref.slice(0, slash), name: ref.slice(slash + 1) };
}

export function getContainer(ref: string, opts: { root?: string } = {}): Container {
  const { pod, name } = parseContainerRef(ref);
  let handle;
  try {
    handle = getPod(pod, opts);
  } catch (err) {
    // A bare NAME names a container, not a pod: say so.
    if (!ref.includes('/') && err instanceof NsboxError && err.code === 'NO_SUCH_POD')
      throw new NsboxError('NO_SUCH_CONTAINER', `no such container: ${ref}`, 'list containers with `nsbox ps -a` (those in a pod of their own are named NAME, the others POD/NAME)');
    throw err;
  }
  const c = new Container(handle, name);
  c.record(); // throws a clear error when it does not exist
  return c;
}


/** podman's --filter for containers: label=, name= (of the container) and status= (its state now). */
export function containerFilter(specs: string[] = []): (r: Record_) => boolean {
  const matches = asNsboxError(() => compileFilters(specs));
  return (r) => matches({ name: r.name, status: r.state, labels: r.labels });
}

/** Seconds since the epoch, as podman's JSON gives times. */
const unix = (iso: string | null): number => (iso ? Math.floor(Date.parse(iso) / 1000) : 0);

/**
 * A container as `ps --format json` prints it: podman's field names (Id,
 * Names, Image, State, ExitCode, Labels, …) for tools that read podman's,
 * beside nsbox's own record fields; never the environment (it carries the
 * secrets given with -e, and podman's ps shows none either).
 */
export function containerListEntry(r: Record_ & { health?: string }, ports: string[] = []) {
  const { env: _env, ...own } = r;
  return {
    Id: r.id,
    Names: [r.name],
    Image: r.image.name ?? r.image.id,
    ImageID: r.image.id,
    Command: r.argv,
    Created: unix(r.createdAt),
    CreatedAt: r.createdAt,
    State: r.state,
    Status: statusText(r) + (r.health ? ` (${r.health})` : ''),
    ...(r.health ? { Health: r.health } : {}),
    ExitCode: r.exitCode ?? 0,
    Exited: r.state === 'exited',
    StartedAt: unix(r.startedAt),
    ExitedAt: unix(r.finishedAt),
    Pid: r.process?.pid ?? 0,
    Pod: r.podId,
    PodName: r.podName,
    Labels: r.labels ?? {},
    Mounts: (r.mounts ?? []).map((m) => m.target),
    Ports: ports,
    Restarts: r.restartCount,
    AutoRemove: !!r.autoRemove,
    ...own,
  };
}

/** A container as `inspect` prints it: podman's shape for the common fields. */
export function containerInspection(c: Container) {
  const r = c.record();
  const state = c.state(r);
  const pod = c.pod.record;
  return {
    Id: r.id,
    Name: r.name,
    Created: r.createdAt,
    Path: r.argv[0] ?? '',
    Args: r.argv.slice(1),
    State: {
      Status: state,
      Running: state === 'running',
      Restarting: state === 'restarting',
      Dead: false,
      Pid: state === 'running' ? (r.process?.pid ?? 0) : 0,
      ExitCode: r.exitCode ?? 0,
      Error: r.error ?? '',
      StartedAt: r.startedAt ?? '',
      FinishedAt: r.finishedAt ?? '',
      ...(r.healthcheck ? { Health: healthOf(c, state) } : {}),
    },
    Image: r.image.id,
    ImageName: r.image.name ?? r.image.id,
    Pod: pod.id,
    PodName: pod.name,
    RestartCount: r.restartCount,
    Mounts: (r.mounts ?? []).map(mountInspection),
    Config: {
      Hostname: pod.hostname,
      User: `${r.user.uid}:${r.user.gid}`,
      Env: r.env,
      Cmd: r.argv,
      WorkingDir: r.workdir,
      Labels: r.labels ?? {},
      StopSignal: r.stopSignal ?? 15,
      OpenStdin: !!r.openStdin,
      Tty: !!r.tty,
      StdinOnce: !!r.stdinOnce,
      ...(r.healthcheck ? { Healthcheck: healthConfig(r.healthcheck) } : {}),
    },
    HostConfig: {
      ReadonlyRootfs: r.readOnly,
      AutoRemove: !!r.autoRemove,
      RestartPolicy: { Name: r.restart.policy, MaximumRetryCount: r.restart.policy === 'on-failure' ? (r.restart.maxRetries ?? 0) : 0 },
      CapAdd: r.capabilities ?? [],
      SecurityOpt: r.securityOpt ?? [],
    },
    // podman's field: the profile in effect ("unconfined" without one).
    SeccompProfilePath: r.seccomp === undefined || r.seccomp === 'unconfined' ? 'unconfined' : r.seccomp === 'default' ? artifacts.seccompDefault : r.seccomp,
    NetworkSettings: { Ports: Object.fromEntries((pod.ports ?? []).map((p) => [`${p.podPort}/${p.protocol}`, [{ HostIp: p.hostIp, HostPort: String(p.hostPort) }]])) },
    nsbox: { rootfs: r.rootfs, logPath: c.paths().log },
  };
}

/** podman's inspect shape of one mount. */
function mountInspection(m: Mount) {
  switch (m.type) {
    case 'bind':
      return { Type: 'bind', Source: m.source, Destination: m.target, RW: !m.readOnly };
    case 'volume':
      return { Type: 'volume', Name: m.name, Source: m.source, Destination: m.target, Driver: 'local', RW: !m.readOnly };
    case 'tmpfs':
      return { Type: 'tmpfs', Source: 'tmpfs', Destination: m.target, RW: !m.options.split(',').includes('ro') };
  }
}

/** podman's State.Health: the check's state now (starting until this run's first result). */
function healthOf(c: Container, state: string) {
  const h = containerHealth(c);
  return { Status: state === 'running' ? (h?.Status ?? 'starting') : '', FailingStreak: h?.FailingStreak ?? 0, Log: h?.Log ?? [] };
}

/** docker's Config.Healthcheck: times in nanoseconds. */
function healthConfig(h: HealthConfig) {
  const ns = (ms: number) => ms * 1e6;
  return { Test: ['CMD', ...h.test], Interval: ns(h.intervalMs), Timeout: ns(h.timeoutMs), StartPeriod: ns(h.startPeriodMs), Retries: h.retries, OnFailure: h.onFailure };
}
