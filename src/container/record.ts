// A container's persisted state (pods/<pod>/containers/<name>/container.json)
// and its state machine: created → running → exited, restarting by policy.
import { describeState, refusal, type ContainerState, type ContainerVerb } from '../core/lifecycle.js';
import { NsboxError } from '../errors.js';
import type { ProcIdentity } from '../process/proc-stat.js';
import type { RestartPolicy } from './spec.js';
import type { Mount } from './mounts.js';
import type { HealthConfig } from '../core/health.js';
import type { PreStopHook } from '../core/pre-stop.js';

export type { ContainerState } from '../core/lifecycle.js';

/** What a container is: container.json, written once by its creator (record-store.ts). */
export interface ContainerSpec {
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
  /** Sent by stop before SIGKILL: the image's StopSignal or --stop-signal (absent: SIGTERM). */
  stopSignal?: number;
  /** Its log is rotated once this large (bytes); absent: never. */
  logMaxSize?: number;
  /** -v and --tmpfs (absent: none). */
  mounts?: Mount[];
  /** --rm: removed once it has exited for good. */
  autoRemove?: boolean;
  /** --label KEY=VALUE (absent: none). */
  labels?: Record<string, string>;
  /** Its seccomp profile: 'default', 'unconfined' or a profile's path (absent in older records: none); the program is seccomp.bpf in its directory. */
  seccomp?: string;
  /** --security-opt as given (inspect shows them). */
  securityOpt?: string[];
  /** --security-opt mask= and unmask= (absent: the default masks). */
  mask?: string[];
  unmask?: string[];
  /** --health-cmd or the image's Healthcheck (absent: none). */
  healthcheck?: HealthConfig;
  /** Run before the stop signal, within the stop's grace period (kube play's lifecycle.preStop). */
  preStop?: PreStopHook;
  /**
   * 'private': a PID namespace of its own, nested in the pod's, so it sees
   * only its own processes and its command is PID 1 there (kube's
   * shareProcessNamespace: false). Absent: the pod's, with /pause as PID 1.
   */
  pidNamespace?: 'private';
  /** -i: its stdin is a pipe its parent keeps open for attachers (absent: /dev/null). */
  openStdin?: boolean;
  /** -t: a terminal of its own, whose master its parent keeps (docker's Tty). */
  tty?: boolean;
  /** docker's StdinOnce: the first attacher's end of input closes its stdin. */
  stdinOnce?: boolean;
  /** With tty: the terminal's size at start, so the first `stty size` sees the attacher's (absent: 24x80). */
  ttySize?: { rows: number; cols: number };
}

/** What it is doing: state.json, written only by its parent (the pod's keeper, or the library process). */
export interface ContainerStatus {
  state: ContainerState;
  process: ProcIdentity | null;
  startedAt: string | null;
  finishedAt: string | null;
  exitCode: number | null;
  restartCount: number;
  /** Set when the process could not be started (e.g. command not found). */
  error: string | null;
}

export type ContainerRecord = ContainerSpec & ContainerStatus;

/** The one-line refusal of `verb` in the record's state (core/lifecycle.ts decides). */
export function refuse(r: ContainerRecord, verb: ContainerVerb, state: ContainerState = r.state): NsboxError {
  const why = refusal(verb, state, `${r.podName}/${r.name}`) ?? { message: `cannot ${verb} container ${r.podName}/${r.name}`, hint: '' };
  return new NsboxError('CONTAINER_STATE', why.message, why.hint || undefined);
}

/** "Exited (0)", "Up", "Restarting (1)": podman's STATUS column. */
export function describeStatus(r: ContainerRecord): string {
  return describeState(r.state, r.exitCode);
}
