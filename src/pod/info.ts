// What a pod record says, with what is alive now: the `pod ls` row, and the
// pidfd of its pause checked against the record.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { NsboxError } from '../errors.js';
import { closeFd, pidfdOpen } from '../native/ffi.js';
import { formatPort } from '../net/ports.js';
import { isAlive } from '../process/proc-stat.js';
import { statePaths } from '../state/paths.js';
import { readPodFailure } from './network-error.js';
import { podStatus, type PodRecord, type PodStatus } from './record.js';
import { podRefusal, type PodState, type PodVerb } from '../core/lifecycle.js';

export interface PodInfo {
  id: string;
  name: string;
  hostname: string;
  status: PodStatus;
  createdAt: string;
  pausePid: number;
  supervisorPid: number;
  supervisor: 'library' | 'detached';
  idMapping: string;
  /** Containers in the pod (any state), as podman's "# OF CONTAINERS". */
  containers: number;
  /** Published ports, as "127.0.0.1:8080->80/tcp". */
  ports: string[];
  /** Why it went down on its own (its network or its supervisor failed), when it did. */
  error?: string;
  labels: Record<string, string>;
}

export function podInfo(r: PodRecord, root?: string): PodInfo {
  return {
    id: r.id,
    name: r.name,
    hostname: r.hostname,
    status: podStatus(r),
    createdAt: r.createdAt,
    pausePid: r.pause.pid,
    supervisorPid: r.supervisor.pid,
    supervisor: r.supervisor.mode,
    idMapping: r.mapping,
    containers: root ? countContainers(root, r.id) : 0,
    ports: (r.ports ?? []).map(formatPort),
    labels: r.labels ?? {},
    ...failureOf(r, root),
  };
}

function failureOf(r: PodRecord, root: string | undefined): { error?: string } {
  if (!root || podStatus(r) === 'running') return {};
  const error = readPodFailure(root, r.id);
  return error ? { error } : {};
}

function countContainers(root: string, podId: string): number {
  try {
    return readdirSync(join(statePaths.podDir(root, podId), 'containers')).length;
  } catch {
    return 0;
  }
}

/** Opens a pidfd on the recorded pause, checking it is still that process. */
export function openPausePidfd(r: PodRecord): number {
  if (!isAlive(r.pause)) throw notRunning(r);
  const fd = pidfdOpen(r.pause.pid);
  if (fd < 0) throw notRunning(r);
  // The pid could have been recycled between the check and the open.
  if (!isAlive(r.pause)) {
    closeFd(fd);
    throw notRunning(r);
  }
  return fd;
}

export function notRunning(r: PodRecord): NsboxError {
  return refusePod('run', r, podStatus(r) === 'running' ? 'exited' : podStatus(r));
}

/** The one-line refusal of `verb` for the pod in `state` (core/lifecycle.ts decides). */
export function refusePod(verb: PodVerb, r: PodRecord, state: PodState = podStatus(r)): NsboxError {
  const why = podRefusal(verb, state, r.name) ?? { code: 'POD_STATE', message: `cannot ${verb} pod ${r.name}`, hint: '' };
  return new NsboxError(why.code, why.message, why.hint || undefined);
}

