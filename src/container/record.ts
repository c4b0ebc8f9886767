// A container's persisted state (pods/<pod>/containers/<name>/container.json)
// and its state machine: created → running → exited, restarting by policy.
import { NsboxError } from '../errors.js';
import type { ProcIdentity } from '../process/proc-stat.js';
import type { RestartPolicy } from './spec.js';

export type ContainerState = 'created' | 'running' | 'stopping' | 'exited';

export interface ContainerRecord {
  id: string;
  name: string;
  podId: string;
  podName: string;
  image: { id: string; name: string | null; layers: string[] };
  argv: string[];
  env: string[];
  workdir: string;
  user: { uid: number; gid: number };
  restart: RestartPolicy;
  readOnly: boolean;
  /** Kept inside the pod's user namespace; absent in older records: the default set. */
  capabilities?: string[];
  /** How the root filesystem is made: overlay over the layers, or a copy. */
  rootfs: 'overlay' | 'copy';
  createdAt: string;
  state: ContainerState;
  process: ProcIdentity | null;
  startedAt: string | null;
  finishedAt: string | null;
  exitCode: number | null;
  restartCount: number;
  /** Set when the process could not be started (e.g. command not found). */
  error: string | null;
}

export const transitions = {
  canStop: (r: ContainerRecord) => r.state === 'running' || r.state === 'stopping',
  canKill: (r: ContainerRecord) => r.state === 'running' || r.state === 'stopping',
  canRemove: (r: ContainerRecord) => r.state === 'exited' || r.state === 'created',
  canExec: (r: ContainerRecord) => r.state === 'running',
};

export function refuse(r: ContainerRecord, verb: string, hint: string): NsboxError {
  return new NsboxError('CONTAINER_STATE', `cannot ${verb} container ${r.podName}/${r.name}: it is ${r.state}`, hint);
}

/** "Exited (0) 3 seconds ago"-style status, as podman prints it. */
export function describeStatus(r: ContainerRecord): string {
  if (r.state === 'exited') return `Exited (${r.exitCode ?? '?'})`;
  if (r.state === 'running') return 'Up';
  return r.state[0]!.toUpperCase() + r.state.slice(1);
}
