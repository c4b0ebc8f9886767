// A container's two files, each with one writer: container.json, what it
// is (written by whoever creates it, before it starts), and state.json,
// what it is doing (written only by its parent: the pod's keeper, or the
// library process that runs the pod). Readers see them merged.
import type { PodRecord } from '../pod/record.js';
import { randomHex } from '../process/random.js';
import { readJson, writeJsonAtomic } from '../state/atomic.js';
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

export function readContainerRecord(paths: Pick<ContainerPaths, 'record' | 'status'>): ContainerRecord | null {
  const spec = readJson<ContainerSpec & Partial<ContainerStatus>>(paths.record);
  if (!spec || typeof spec.name !== 'string') return null;
  const status = readJson<ContainerStatus>(paths.status);
  return { ...spec, ...CREATED, ...(status && typeof status.state === 'string' ? status : {}) } as ContainerRecord;
}

export function writeContainerSpec(paths: Pick<ContainerPaths, 'record'>, spec: ContainerSpec): void {
  writeJsonAtomic(paths.record, spec);
}

export function writeContainerStatus(paths: Pick<ContainerPaths, 'status'>, status: ContainerStatus): void {
  writeJsonAtomic(paths.status, status);
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
    // NSBOX_ROOTFS=copy (when the pod was made, or now) forces the copy fallback (slower, no overlayfs needed).
    rootfs: pod.rootfs === 'copy' || process.env.NSBOX_ROOTFS === 'copy' ? 'copy' : 'overlay',
    createdAt: new Date().toISOString(),
    ...CREATED,
  };
}
