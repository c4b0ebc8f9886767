// Turns "run this image (or tarball) with these options" into the resolved
// request the pod's supervisor executes.
import { existsSync, statSync } from 'node:fs';
import { asNsboxError, NsboxError } from '../errors.js';
import type { RunRequest } from './manager.js';
import { parseRestartPolicy, parseSize, parseUser, resolveCommand, validateContainerName, type RunOptions } from './spec.js';
import { resolveCapabilities } from './capabilities.js';
import { seccompProgram } from './seccomp.js';
import { parseSecurityOpts } from './security-opts.js';
import { toLabels } from '../core/filters.js';
import { checkMountTargets, parseMountFlag, parseTmpfs, parseVolume, type Mount } from './mounts.js';
import { readImageEtcFile } from './image-etc.js';
import { DEFAULT_PATH } from '../pod/plans.js';
import { buildEnv } from '../pod/exec.js';
import { randomHex } from '../process/random.js';
import { parseSignal } from '../core/wait-status.js';
import { HEALTH_DEFAULTS, healthTest, parseDuration, type HealthConfig } from '../core/health.js';
import type { ImageConfig } from '../image/record.js';

type ImageHealthcheck = NonNullable<ImageConfig['healthcheck']>;

export interface ImageForRun {
  dataRoot: string;
  id: string;
  name: string | null;
  layers: string[];
  layerDirs: string[];
  config: { entrypoint?: string[]; cmd?: string[]; env?: string[]; workingDir?: string; user?: string; stopSignal?: string; healthcheck?: ImageHealthcheck };
}

/** An image from the store; a path to an archive is imported first. */
export async function resolveImage(ref: string, dataRoot: string, onProgress?: (line: string) => void): Promise<ImageForRun> {
  const store = await import('../image/store.js');
  let image;
  if (ref.includes('/') && existsSync(ref) && (statSync(ref).isFile() || statSync(ref).isDirectory())) {
    const { importImage } = await import('../image/import.js');
    image = await importImage(ref, { root: dataRoot, onProgress: onProgress ? (p: { message?: string }) => p.message && onProgress(p.message) : undefined });
  } else {
    image = store.findImage(dataRoot, ref);
  }
  return {
    dataRoot,
    id: image.id,
    name: image.names[0] ?? null,
    layers: image.layers,
    layerDirs: store.layerDirs(dataRoot, image),
    config: image.config ?? {},
  };
}

/** The colon-separated fields of the image's /etc/passwd or /etc/group (none when it has none). */
function imageIdEntries(layerDirs: string[], file: 'passwd' | 'group'): string[][] {
  return (readImageEtcFile(layerDirs, file) ?? '').split('\n').map((l) => l.split(':'));
}

/**
 * "www-data" or "nginx:nginx" as an image's config says it: looked up in the
 * image's /etc/passwd and /etc/group; a user alone takes its passwd group.
 */
export function resolveUserNames(spec: string | undefined, layerDirs: string[]): string | undefined {
  if (!spec || /^\d+(:\d+)?$/.test(spec)) return spec;
  const [user, group] = spec.split(':') as [string, string | undefined];
  const passwd = imageIdEntries(layerDirs, 'passwd').find((f) => f[0] === user);
  const uid = /^\d+$/.test(user) ? user : passwd?.[2];
  if (uid === undefined) throw new NsboxError('INVALID_ARGUMENT', `user ${JSON.stringify(user)} is not in the image's /etc/passwd`, 'use --user UID[:GID]');
  if (group === undefined) return `${uid}:${passwd?.[3] ?? uid}`;
  const gid = /^\d+$/.test(group) ? group : imageIdEntries(layerDirs, 'group').find((f) => f[0] === group)?.[2];
  if (gid === undefined) throw new NsboxError('INVALID_ARGUMENT', `group ${JSON.stringify(group)} is not in the image's /etc/group`, 'use --user UID[:GID]');
  return `${uid}:${gid}`;
}

export function generateContainerName(): string {
  return `c-${randomHex(4)}`;
}

export function buildRunRequest(image: ImageForRun, opts: RunOptions): RunRequest {
  const name = opts.name ?? generateContainerName();
  validateContainerName(name);
  const imageEnv = Object.fromEntries((image.config.env ?? [`PATH=${DEFAULT_PATH}`]).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  const env = buildEnv({ HOME: '/root', ...imageEnv }, opts.env);
  const workdir = opts.workdir ?? (image.config.workingDir || '/');
  if (!workdir.startsWith('/')) throw new NsboxError('INVALID_ARGUMENT', `invalid working directory ${JSON.stringify(workdir)}`, 'give an absolute path with -w');
  const capabilities = resolveCapabilities(opts.capAdd, opts.capDrop);
  return {
    name,
    image: { id: image.id, name: image.name, layers: image.layers, layerDirs: image.layerDirs, dataRoot: image.dataRoot },
    argv: resolveCommand(image.config, opts),
    env,
    workdir,
    user: parseUser(resolveUserNames(opts.user ?? image.config.user, image.layerDirs)),
    restart: parseRestartPolicy(opts.restart),
    readOnly: !!opts.readOnly,
    capabilities,
    ...securityOf(opts.securityOpt, capabilities, image.dataRoot),
    ...stopSignalOf(opts.stopSignal, image.config.stopSignal),
    ...(opts.logMaxSize !== undefined ? { logMaxSize: parseSize(opts.logMaxSize, 'log max-size') } : {}),
    ...mountsOf(opts),
    ...(opts.remove ? { autoRemove: true } : {}),
    ...labelsOf(opts.labels),
    ...healthOf(opts, image.config.healthcheck),
    ...(opts.openStdin ? { openStdin: true } : {}),
    ...(opts.tty ? { tty: true } : {}),
    ...(opts.stdinOnce && opts.openStdin ? { stdinOnce: true } : {}),
    ...(opts.tty && opts.ttySize ? { ttySize: { rows: opts.ttySize.rows, cols: opts.ttySize.cols } } : {}),
  };
}

const ON_FAILURE = ['none', 'kill', 'restart', 'stop'] as const;

/** --health-* over the image's Healthcheck, as docker merges them: each flag replaces its own field. */
function healthOf(opts: RunOptions, image: ImageHealthcheck | undefined): { healthcheck?: HealthConfig } {
  const badFlag = (flag: string, value: unknown, hint: string) => new NsboxError('INVALID_ARGUMENT', `invalid ${flag} ${JSON.stringify(value)}`, hint);
  const duration = (flag: string, v: string | undefined, fallback: number, min = 0): number => {
    if (v === undefined) return fallback;
    const ms = parseDuration(v);
    if (ms === null || ms < min) throw badFlag(flag, v, `give a duration such as 500ms, 30s or 1m30s${min ? ` (at least ${min} ms)` : ''}`);
    return ms;
  };
  const given = opts.healthCmd !== undefined || opts.healthInterval !== undefined || opts.healthTimeout !== undefined || opts.healthStartPeriod !== undefined || opts.healthRetries !== undefined || opts.healthOnFailure !== undefined;
  if (opts.noHealthcheck) {
    if (given) throw new NsboxError('INVALID_ARGUMENT', '--no-healthcheck conflicts with the --health-* options', 'give one or the other');
    return {};
  }
  const test = opts.healthCmd !== undefined ? healthTest(opts.healthCmd) : image ? healthTest(image.test) : null;
  if (test === null) {
    if (given && opts.healthCmd === undefined) throw new NsboxError('INVALID_ARGUMENT', '--health-* options need a check: the image has no Healthcheck', 'add --health-cmd "CMD"');
    return {};
  }
  const retries = opts.healthRetries ?? image?.retries ?? HEALTH_DEFAULTS.retries;
  if (!Number.isInteger(retries) || retries < 1) throw badFlag('--health-retries', opts.healthRetries, 'give a whole number of at least 1');
  const onFailure = opts.healthOnFailure ?? 'none';
  if (!(ON_FAILURE as readonly string[]).includes(onFailure)) throw badFlag('--health-on-failure', onFailure, 'use none, kill, restart or stop');
  return {
    healthcheck: {
      test,
      // docker refuses intervals under 1 ms; nsbox starts a process per check, so under 100 ms is refused.
      intervalMs: duration('--health-interval', opts.healthInterval, image?.intervalMs ?? HEALTH_DEFAULTS.intervalMs, 100),
      timeoutMs: duration('--health-timeout', opts.healthTimeout, image?.timeoutMs ?? HEALTH_DEFAULTS.timeoutMs, 1),
      startPeriodMs: duration('--health-start-period', opts.healthStartPeriod, image?.startPeriodMs ?? HEALTH_DEFAULTS.startPeriodMs),
      retries,
      onFailure: onFailure as HealthConfig['onFailure'],
    },
  };
}

/** --security-opt: the profile is read, checked and compiled here, before anything is created. */
function securityOf(list: string[] | undefined, capabilities: string[], dataRoot: string): Pick<RunRequest, 'seccomp' | 'seccompProgram' | 'securityOpt' | 'mask' | 'unmask'> {
  const o = parseSecurityOpts(list);
  return {
    seccomp: o.seccomp,
    seccompProgram: seccompProgram(o.seccomp, capabilities, dataRoot),
    ...(list?.length ? { securityOpt: [...list] } : {}),
    ...(o.mask.length ? { mask: o.mask } : {}),
    ...(o.unmask.length ? { unmask: o.unmask } : {}),
  };
}

function labelsOf(spec: RunOptions['labels']): { labels?: Record<string, string> } {
  const labels = asNsboxError(() => toLabels(spec));
  return Object.keys(labels).length ? { labels } : {};
}

function mountsOf(opts: RunOptions): { mounts?: Mount[] } {
  const mounts = [...(opts.volumes ?? []).map((v) => parseVolume(v)), ...(opts.mounts ?? []).map((m) => parseMountFlag(m)), ...(opts.tmpfs ?? []).map(parseTmpfs)];
  checkMountTargets(mounts);
  return mounts.length ? { mounts } : {};
}

/** --stop-signal, else the image's StopSignal; absent (SIGTERM) when neither says. */
function stopSignalOf(flag: string | undefined, fromImage: string | undefined): { stopSignal?: number } {
  const spec = flag ?? fromImage;
  if (spec === undefined) return {};
  const n = parseSignal(spec);
  if (n === null)
    throw new NsboxError('INVALID_ARGUMENT', `unknown stop signal ${JSON.stringify(spec)}${flag === undefined ? " in the image's StopSignal" : ''}`, 'use a name such as TERM, QUIT or INT, or a number');
  return { stopSignal: n };
}
