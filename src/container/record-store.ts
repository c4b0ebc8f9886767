// A container's two files, each with one writer: container.json, what it
// is (written by whoever creates it, before it starts), and state.json,
// what it is doing (written only by its parent: the pod's keeper, or the
// library process that runs the pod). Readers see them merged.
import type { PodRecord } from '../pod/record.js';
import { randomHex } from '../process/random.js';
import { readJson, writeRuntimeJson } from '../state/atomic.js';
import type { ContainerPaths } from './files.js';
import type { RunRequest } from './manager.js';
import type { ContainerRecord, ContainerSpec, ContainerStatus } from './record.js';

/** The state of a container that has not started yet. */
export const CREATED: ContainerStatus = { state: 'created', process: null, startedAt: null, finishedAt: null, exitCode: null, restartCount: 0, error: null };

/** The status fields of a record: what state.json holds. */
export function statusOf(r: ContainerRecord): ContainerStatus {
  const { state, process, startedAt, finishedAt, exitCode, restartCount, error } = r;
  return { state, process, startedAt, finishedAt, exitCode, restartCount, error };
}

/** The spec fields of a record: what container.json holds. */
export function specOf(r: ContainerRecord): ContainerSpec {
  const { state: _s, process: _p, startedAt: _a, finishedAt: _f, exitCode: _e, restartCount: _r, error: _x, ...spec } = r;
  return spec;
}

/** The schema of both files; files without one (older) are read if their shape is right. */
export const CONTAINER_SCHEMA = 1;

const STATES = new Set(['created', 'running', 'restarting', 'stopping', 'exited']);

function validSpec(x: unknown): ContainerSpec | null {
  if (!x || typeof x !== 'object') return null;
  const s = x as Partial<ContainerSpec> & { schema?: unknown };
  if (s.schema !== undefined && s.schema !== CONTAINER_SCHEMA) return null;
  if (typeof s.id !== 'string' || typeof s.name !== 'string' || typeof s.podId !== 'string' || !Array.isArray(s.argv) || !Array.isArray(s.env)) return null;
  if (!s.user || !Number.isInteger(s.user.uid) || !Number.isInteger(s.user.gid) || !s.image || !Array.isArray(s.image.layers) || !s.restart) return null;
  return s as ContainerSpec;
}

function validStatus(x: unknown): ContainerStatus | null {
  if (!x || typeof x !== 'object') return null;
  const s = x as Partial<ContainerStatus> & { schema?: unknown };
  if (s.schema !== undefined && s.schema !== CONTAINER_SCHEMA) return null;
  if (typeof s.state !== 'string' || !STATES.has(s.state)) return null;
  const p = s.process;
  if (p !== null && (!p || !Number.isInteger(p.pid) || typeof p.startTime !== 'string')) return null;
  if (!Number.isInteger(s.restartCount) || (s.exitCode !== null && !Number.isInteger(s.exitCode))) return null;
  const { state, process, startedAt, finishedAt, exitCode, restartCount, error } = s as ContainerStatus;
  return { state, process, startedAt: startedAt ?? null, finishedAt: finishedAt ?? null, exitCode, restartCount, error: error ?? null };
}

/** Both files merged; a spec that is not one counts as missing, a status that is not one as "created". */
export function readContainerRecord(paths: Pick<ContainerPaths, 'record' | 'status'>): ContainerRecord | null {
  const raw = readJson<ContainerSpec & Partial<ContainerStatus>>(paths.record);
  const spec = validSpec(raw);
  if (!spec) return null;
  // Records of before the split kept their status in container.json.
  const status = validStatus(readJson(paths.status)) ?? validStatus(raw) ?? CREATED;
  const { schema: _schema, ...rest } = spec as ContainerSpec & { schema?: number };
  return { ...rest, ...statusOf({ ...CREATED, ...status } as ContainerRecord) } as ContainerRecord;
}

export function writeContainerSpec(paths: Pick<ContainerPaths, 'record'>, spec: ContainerSpec): void {
  writeRuntimeJson(paths.record, { schema: CONTAINER_SCHEMA, ...spec });
}

export function writeContainerStatus(paths: Pick<ContainerPaths, 'status'>, status: ContainerStatus): void {
  writeRuntimeJson(paths.status, { schema: CONTAINER_SCHEMA, ...status });
}

/** The record of a container about to be started for the first time. */
export function newContainerRecord(req: RunRequest, pod: Pick<PodRecord, 'id' | 'name' | 'rootfs'>): ContainerRecord {
  return {
    id: randomHex(32),
    name: req.name,
    podId: pod.id,
    podName: pod.name,
    image: { id: req.image.id, name: req.image.name, layers: req.image.layers },
    argv: req.argv,
    env: req.env,
    workdir: req.workdir,
    user: req.user,
    restart: req.restart,
    readOnly: req.readOnly,
    capabilities: req.capabilities,
    ...(req.stopSignal !== undefined ? { stopSignal: req.stopSignal } : {}),
    ...(req.logMaxSize !== undefined ? { logMaxSize: req.logMaxSize } : {}),
    ...(req.mounts?.length ? { mounts: req.mounts } : {}),
    ...(req.autoRemove ? { autoRemove: true } : {}),
    ...(req.labels && Object.keys(req.labels).length ? { labels: req.labels } : {}),
    ...(req.seccomp !== undefined ? { seccomp: req.seccomp } : {}),
    ...(req.securityOpt?.length ? { securityOpt: req.securityOpt } : {}),
    ...(req.mask?.length ? { mask: req.mask } : {}),
    ...(req.unmask?.length ? { unmask: req.unmask } : {}),
    ...(req.healthcheck ? { healthcheck: req.healthcheck } : {}),
    ...(req.preStop ? { preStop: req.preStop } : {}),
    ...(req.pidNamespace === 'private' ? { pidNamespace: 'private' as const } : {}),
    ...(req.openStdin ? { openStdin: true } : {}),
    ...(req.tty ? { tty: true } : {}),
    ...(req.stdinOnce ? { stdinOnce: true } : {}),
    ...(req.ttySize ? { ttySize: req.ttySize } : {}),
    // NSBOX_ROOTFS=copy (when the pod was made, or now) forces the copy fallback (slower, no overlayfs needed).
    rootfs: pod.rootfs === 'copy' || process.env.NSBOX_ROOTFS === 'copy' ? 'copy' : 'overlay',
    createdAt: new Date().toISOString(),
    ...CREATED,
  };
}
