// What a user asks for when running a container, validated.
import { NsboxError } from '../errors.js';
import { MAX_NAME_LENGTH, NAME_PATTERN } from '../pod/record.js';

export type RestartPolicy = { policy: 'no' } | { policy: 'always' } | { policy: 'on-failure'; maxRetries: number | null };

export interface RunOptions {
  /** Unique within the pod; generated when omitted. */
  name?: string;
  /** Replaces the image's Cmd (and runs after its Entrypoint). */
  command?: string[];
  /** Replaces the image's Entrypoint. */
  entrypoint?: string[];
  env?: Record<string, string> | string[];
  workdir?: string;
  /** "UID[:GID]" or numbers; default the image's User, else 0. */
  user?: string;
  restart?: string | RestartPolicy;
  readOnly?: boolean;
  /** Capabilities added to / dropped from podman's default set (names, or ALL). */
  capAdd?: string[];
  capDrop?: string[];
  /** What stop sends first (a name such as TERM or QUIT, or a number); default the image's StopSignal, else SIGTERM. */
  stopSignal?: string;
  /** Rotate the log once it is this large (bytes, or "10m"); the one before is kept. Default: never. */
  logMaxSize?: number | string;
  /** Host files or directories to share, "HOST:CONTAINER[:ro|rw]" (HOST absolute, or ./ relative to the working directory), or named volumes, "NAME:CONTAINER[:ro|rw]" (made on first use). */
  volumes?: string[];
  /** docker's --mount: "type=bind|volume|tmpfs,source=…,target=…[,readonly]". */
  mounts?: string[];
  /** Fresh tmpfs mounts: "CONTAINER[:size=64m,mode=1777]". */
  tmpfs?: string[];
  /** --label KEY=VALUE, or parsed. */
  labels?: string[] | Record<string, string>;
  /** Remove the container once it has exited (and its pod, when `run` made the pod for it): docker's --rm. */
  remove?: boolean;
  /** podman's --security-opt: seccomp=unconfined|PROFILE.json, no-new-privileges, mask=PATHS, unmask=ALL|PATHS. */
  securityOpt?: string[];
  /** --health-cmd: a shell command, or argv (["CMD", …] / ["CMD-SHELL", "…"] as docker's Test); "none" or noHealthcheck turns the image's off. */
  healthCmd?: string | string[];
  /** Durations as docker takes them ("30s", "1m30s", "500ms"). */
  healthInterval?: string;
  healthTimeout?: string;
  healthStartPeriod?: string;
  healthRetries?: number;
  /** podman's --health-on-failure: none (default), kill, restart or stop. */
  healthOnFailure?: string;
  noHealthcheck?: boolean;
  /** docker's OpenStdin (-i): a stdin that attachers write (a detached pod's container; `container.attach()`). */
  openStdin?: boolean;
  /** docker's Tty (-t): a terminal of its own, relayed to attachers. */
  tty?: boolean;
  /** docker's StdinOnce: once an attacher's input ends, the container's stdin is closed. */
  stdinOnce?: boolean;
  /** With tty: the terminal's size when the process starts (docker's ConsoleSize; default 24x80). */
  ttySize?: { rows: number; cols: number };
}

/** docker's sizes: 1024, 512k, 10m, 1g (or with a trailing b). */
export function parseSize(spec: number | string, what: string): number {
  if (typeof spec === 'number' && Number.isInteger(spec) && spec > 0) return spec;
  const m = /^(\d+)([kmg]?)b?$/i.exec(String(spec));
  if (!m || Number(m[1]) === 0) throw new NsboxError('INVALID_ARGUMENT', `invalid ${what} ${JSON.stringify(spec)}`, 'give a size such as 512k, 10m or 1g');
  return Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] || ' ').toLowerCase());
}

export function validateContainerName(name: string): void {
  if (!NAME_PATTERN.test(name) || name.length > MAX_NAME_LENGTH)
    throw new NsboxError('INVALID_NAME', `invalid container name ${JSON.stringify(name)}`, `names must match [a-zA-Z0-9][a-zA-Z0-9_.-]* and be at most ${MAX_NAME_LENGTH} characters`);
}

export function parseRestartPolicy(spec: string | RestartPolicy | undefined): RestartPolicy {
  if (spec === undefined) return { policy: 'no' };
  if (typeof spec !== 'string') return spec;
  const m = /^(no|always|on-failure)(?::(\d+))?$/.exec(spec);
  if (!m || (m[2] !== undefined && m[1] !== 'on-failure'))
    throw new NsboxError('INVALID_ARGUMENT', `invalid restart policy ${JSON.stringify(spec)}`, 'use no, always, or on-failure[:MAX_RETRIES]');
  if (m[1] === 'on-failure') return { policy: 'on-failure', maxRetries: m[2] === undefined ? null : Number(m[2]) };
  return { policy: m[1] as 'no' | 'always' };
}

export function formatRestartPolicy(p: RestartPolicy): string {
  return p.policy === 'on-failure' && p.maxRetries !== null ? `on-failure:${p.maxRetries}` : p.policy;
}

const MAX_ID = 4294967294;

/** "UID[:GID]" with numbers only (names would need the image's /etc/passwd). */
export function parseUser(spec: string | undefined): { uid: number; gid: number } {
  if (spec === undefined || spec === '') return { uid: 0, gid: 0 };
  const m = /^(\d+)(?::(\d+))?$/.exec(spec);
  if (!m) throw new NsboxError('INVALID_ARGUMENT', `invalid user ${JSON.stringify(spec)}`, 'use --user UID[:GID] with numbers');
  const uid = Number(m[1]);
  const gid = m[2] !== undefined ? Number(m[2]) : uid;
  // 4294967295 is (uid_t)-1, "unchanged" to setresuid: never an id to run as.
  if (uid > MAX_ID || gid > MAX_ID) throw new NsboxError('INVALID_ARGUMENT', `invalid user ${JSON.stringify(spec)}: ids go up to ${MAX_ID}`, 'use --user UID[:GID] with ids the pod maps');
  return { uid, gid };
}

/** Docker's rule: Entrypoint + Cmd; a given command replaces Cmd. */
export function resolveCommand(image: { entrypoint?: string[]; cmd?: string[] }, opts: RunOptions): string[] {
  const entrypoint = opts.entrypoint ?? image.entrypoint ?? [];
  const cmd = opts.command && opts.command.length > 0 ? opts.command : opts.entrypoint ? [] : (image.cmd ?? []);
  const argv = [...entrypoint, ...cmd];
  if (argv.length === 0) throw new NsboxError('INVALID_ARGUMENT', 'no command to run: the image has neither Entrypoint nor Cmd', 'give the command after the image');
  return argv;
}
