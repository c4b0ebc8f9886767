// The one state machine of a container: its state computed once from what
// its record says and what is alive now, and which verbs each state allows.
// Pure (no fs, no /proc): callers bring the liveness facts.

export type ContainerState = 'created' | 'running' | 'restarting' | 'stopping' | 'exited';

export type ContainerVerb = 'start' | 'stop' | 'kill' | 'exec' | 'remove' | 'wait';

/** What is true right now, beside the record. */
export interface LivenessFacts {
  /** The recorded process is alive (same pid and start time). */
  processAlive: boolean;
  /** The pod's pause is alive. */
  podRunning: boolean;
}

/**
 * The state a reader should show: a process that died without its exit
 * being recorded (its pod died under it) is exited; a container waiting to
 * be restarted in a dead pod will never be.
 */
export function reduceContainerState(recorded: ContainerState, facts: LivenessFacts): ContainerState {
  if (recorded === 'exited') return 'exited';
  if (!facts.podRunning) return 'exited';
  if (recorded === 'running' || recorded === 'stopping') return facts.processAlive ? recorded : 'exited';
  return recorded; // created, restarting: no process to check
}

/** The states each verb acts in; the others are refused (or, for stop, a no-op: see stopIsNoop). */
const ALLOWED: Record<ContainerVerb, readonly ContainerState[]> = {
  start: ['exited', 'created'],
  stop: ['running', 'stopping', 'restarting'],
  kill: ['running', 'stopping'],
  exec: ['running'],
  remove: ['exited', 'created'],
  wait: ['created', 'running', 'restarting', 'stopping', 'exited'],
};

const HINTS: Record<ContainerVerb, string> = {
  start: 'stop it first with `nsbox stop POD/NAME`',
  stop: '',
  kill: 'it has no process to signal; start it with `nsbox start POD/NAME`',
  exec: 'start it with `nsbox start POD/NAME`, or run a new one with `nsbox run --pod POD`',
  remove: 'stop it first, or use `nsbox rm -f POD/NAME`',
  wait: '',
};

export function can(verb: ContainerVerb, state: ContainerState): boolean {
  return ALLOWED[verb].includes(state);
}

/** As podman and docker: stopping a container that is not running succeeds and does nothing. */
export function stopIsNoop(state: ContainerState): boolean {
  return state === 'exited' || state === 'created';
}

/** Why `verb` is refused in `state`, naming the state, and what to do instead; null when it is allowed. */
export function refusal(verb: ContainerVerb, state: ContainerState, ref: string): { message: string; hint: string } | null {
  if (can(verb, state)) return null;
  const word = verb === 'exec' ? 'exec in' : verb;
  return { message: `cannot ${word} container ${ref}: it is ${state}`, hint: HINTS[verb].replace(/POD\/NAME/g, ref).replace('--pod POD', `--pod ${ref.split('/')[0]}`) };
}

/** podman's STATUS column: "Up", "Exited (0)", "Restarting (2)", "Created", "Stopping". */
export function describeState(state: ContainerState, exitCode: number | null): string {
  switch (state) {
    case 'running':
      return 'Up';
    case 'exited':
      return `Exited (${exitCode ?? '?'})`;
    case 'restarting':
      return `Restarting (${exitCode ?? '?'})`;
    default:
      return state[0]!.toUpperCase() + state.slice(1);
  }
}

// ---- pods

/** running: pause and keeper alive; degraded: the pause lives, nobody keeps it; exited: the pause is gone. */
export type PodState = 'running' | 'degraded' | 'exited';

export type PodVerb = 'exec' | 'run' | 'stop' | 'remove';

export interface PodLiveness {
  pauseAlive: boolean;
  /** Its keeper (or, for a library pod, its creating process) is alive. */
  keeperAlive: boolean;
}

export function reducePodState(facts: PodLiveness): PodState {
  if (!facts.pauseAlive) return 'exited';
  return facts.keeperAlive ? 'running' : 'degraded';
}

const POD_ALLOWED: Record<PodVerb, readonly PodState[]> = {
  exec: ['running', 'degraded'],
  run: ['running'],
  stop: ['running', 'degraded'],
  remove: ['exited'],
};

export function canPod(verb: PodVerb, state: PodState): boolean {
  return POD_ALLOWED[verb].includes(state);
}

/** Why `verb` is refused for pod `name` in `state`, naming the state, with what to do; null when allowed. */
export function podRefusal(verb: PodVerb, state: PodState, name: string): { code: string; message: string; hint: string } | null {
  if (canPod(verb, state)) return null;
  if (verb === 'remove') return { code: 'POD_RUNNING', message: `pod ${name} is running`, hint: `stop it first or use \`nsbox pod rm -f ${name}\`` };
  if (verb === 'stop') return { code: 'POD_NOT_RUNNING', message: `pod ${name} is already stopped`, hint: `remove it with \`nsbox pod rm ${name}\`` };
  return { code: 'POD_NOT_RUNNING', message: `pod ${name} is not running (status ${state})`, hint: `remove it with \`nsbox pod rm ${name}\` and create it again` };
}
