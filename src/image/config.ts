// Reads the parts of an image config (Docker / OCI "application/vnd.oci.image.config.v1+json")
// that containers use, and makes the config a plain rootfs tarball gets.
import { arch } from 'node:os';
import { NsboxError } from '../errors.js';
import { DIGEST } from './paths.js';
import type { ImageConfig } from './record.js';
import type { ConfigChanges } from './changes.js';

export interface ParsedConfig {
  config: ImageConfig;
  diffIds: string[];
  architecture?: string;
  os?: string;
  created?: string;
}

export const DEFAULT_CMD = ['/bin/sh'];

/** Node's arch names in OCI's (GOARCH) spelling. */
export function ociArch(nodeArch: string = arch()): string {
  const map: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64' };
  return map[nodeArch] ?? nodeArch;
}

export function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (err) {
    throw new NsboxError('BAD_ARCHIVE', `${what} is not valid JSON (${(err as Error).message})`, 'the archive is damaged or not an image');
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((s) => typeof s === 'string') ? (v as string[]) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Throws a one-line error when the config is not an image config. */
export function parseImageConfig(raw: unknown, what: string): ParsedConfig {
  if (!isObject(raw)) throw new NsboxError('BAD_ARCHIVE', `${what} is not an image config (not a JSON object)`, 'the archive is damaged or not an image');
  const rootfs = raw.rootfs;
  const diffIds = isObject(rootfs) ? strings(rootfs.diff_ids) : undefined;
  if (!diffIds) throw new NsboxError('BAD_ARCHIVE', `${what} has no rootfs.diff_ids`, 'the archive is damaged or not an image');
  for (const d of diffIds) if (!DIGEST.test(d)) throw new NsboxError('BAD_ARCHIVE', `${what} lists the unsupported layer digest ${JSON.stringify(d)}`, 'only sha256 digests are supported');
  const c = isObject(raw.config) ? raw.config : {};
  const config: ImageConfig = {};
  const entrypoint = strings(c.Entrypoint);
  if (entrypoint && entrypoint.length) config.entrypoint = entrypoint;
  const cmd = strings(c.Cmd);
  if (cmd && cmd.length) config.cmd = cmd;
  const env = strings(c.Env);
  if (env && env.length) config.env = env;
  const workingDir = str(c.WorkingDir);
  if (workingDir) config.workingDir = workingDir;
  const user = str(c.User);
  if (user) config.user = user;
  if (isObject(c.ExposedPorts)) {
    const ports = Object.keys(c.ExposedPorts);
    if (ports.length) config.exposedPorts = ports;
  }
  if (isObject(c.Labels)) {
    const labels = Object.fromEntries(Object.entries(c.Labels).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
    if (Object.keys(labels).length) config.labels = labels;
  }
  const stopSignal = str(c.StopSignal);
  if (stopSignal) config.stopSignal = stopSignal;
  const health = isObject(c.Healthcheck) ? c.Healthcheck : null;
  const test = health ? strings(health.Test) : undefined;
  if (health && test && test.length) {
    // docker writes the times in nanoseconds; 0 means the default.
    const ms = (v: unknown) => (typeof v === 'number' && v > 0 ? Math.round(v / 1e6) : undefined);
    const retries = typeof health.Retries === 'number' && health.Retries > 0 ? health.Retries : undefined;
    config.healthcheck = { test, intervalMs: ms(health.Interval), timeoutMs: ms(health.Timeout), startPeriodMs: ms(health.StartPeriod), retries };
    for (const k of Object.keys(config.healthcheck) as (keyof typeof config.healthcheck)[]) if (config.healthcheck[k] === undefined) delete config.healthcheck[k];
  }
  return { config, diffIds, architecture: str(raw.architecture), os: str(raw.os), created: str(raw.created) };
}

/**
 * The config of a plain rootfs tarball: no metadata but its one layer, Cmd
 * /bin/sh, and what --change sets. Deterministic (no timestamps), so importing the same tarball
 * twice gives the same image id.
 */
export function rootfsConfigBytes(diffId: string, changes: ConfigChanges = {}): Buffer {
  // An ENTRYPOINT of its own does not get /bin/sh as its argument.
  const cmd = changes.Entrypoint && !changes.Cmd ? {} : { Cmd: DEFAULT_CMD };
  const config = {
    architecture: ociArch(),
    os: 'linux',
    config: { ...cmd, ...changes },
    rootfs: { type: 'layers', diff_ids: [diffId] },
  };
  return Buffer.from(JSON.stringify(config));
}
