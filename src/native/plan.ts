// A spawn plan: what the shim does, in order, in which process. Built by pure
// functions (src/pod/plans.ts), printed by --debug, encoded here for the shim.
// Mirrors native-shims/shim/plan.h.

export const CLONE = {
  NEWNS: 0x00020000,
  NEWCGROUP: 0x02000000,
  NEWUTS: 0x04000000,
  NEWIPC: 0x08000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
} as const;

export const MNT_DETACH = 2;

export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  REMOUNT: 32,
  BIND: 4096,
  REC: 16384,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
} as const;

/**
 * How a path step resolves its path (the shim's enum nsbox_scope):
 * host: as given, for nsbox's own paths before pivot_root; root: inside the
 * current root, image symlinks followed inside it, /proc magic links
 * refused; rootNoSymlinks: inside the root, no symlink at all.
 */
export type PathScope = 'host' | 'root' | 'rootNoSymlinks';
const SCOPE: Record<PathScope, number> = { host: 0, root: 1, rootNoSymlinks: 2 };

/** Placeholder for the final process's pid in `run` arguments. */
export const CHILD_PID = '\x01PID';

/** Steps of the middle process, before the final process is cloned. */
export type MiddleStep =
  | { op: 'setnsPidfd'; pidfd: number; flags: number }
  | { op: 'setnsFd'; fd: number; nstype: number }
  | { op: 'unshare'; flags: number }
  /**
   * The rest goes on in a process of the PID namespace joined (setns only
   * sets it for children): the kernel makes a PID namespace only for a member
   * of its parent, so this comes before a final process with CLONE.NEWPID.
   */
  | { op: 'enterPidNamespace' }
  /** Mounts made before joining a pod: as root, in a mount namespace the pod cannot unlock. */
  | MountingStep;

/** The steps that may run in either process. */
export type MountingStep = Extract<ChildStep, { op: 'mount' | 'mkdir' | 'symlink' }>;

/** Steps of the middle process once the final process exists. */
export type AfterStep =
  | { op: 'run'; argv: string[] }
  | { op: 'writeProc'; file: string; content: string }
  | { op: 'release' }
  /** Once the final process runs, the middle process execs this (in a new
   * session, stdio on /dev/null) and stays its parent: a supervisor. */
  | { op: 'execMiddle'; file: string; argv: string[]; env: string[]; keepFds?: number[] };

/** Steps of the final process, ending with exec. */
export type ChildStep =
  | { op: 'waitRelease' }
  | { op: 'setIds'; uid: number; gid: number; clearGroups: boolean }
  | { op: 'sethostname'; hostname: string }
  | { op: 'loopbackUp' }
  /** beneath (a bind only): the path inside the directory `source` to bind, walked with no symlink as the bind is made. */
  | { op: 'mount'; source: string; target: string; fstype: string; flags: number; data: string; scope?: PathScope; beneath?: string }
  | { op: 'chdir'; path: string; scope?: PathScope }
  | { op: 'setsid' }
  /** exec -d: the process forks and its first half exits, so the pod's PID 1 becomes the parent that reaps it. */
  | { op: 'daemonize' }
  | { op: 'setCtty'; fd: number }
  /** A pty made inside the root: its master sent over socketFd, its slave as fds 0-2 and controlling terminal. */
  | { op: 'pty'; socketFd: number; rows: number; cols: number }
  /** An fd of the process's mount namespace, sent over socketFd (to find what it leaves behind). */
  | { op: 'sendMountNamespace'; socketFd: number }
  | { op: 'stdio'; fds: [number, number, number] }
  | { op: 'keepFd'; from: number; to: number }
  | { op: 'closeFds'; from: number }
  | { op: 'rlimit'; resource: number; soft: bigint; hard: bigint }
  | { op: 'noNewPrivs' }
  | { op: 'pdeathsig'; signal: number }
  | { op: 'umask'; mask: number }
  /**
   * Keep only these capabilities (bit N = capability N): phase 'bounding'
   * before setIds, phase 'sets' after it.
   */
  | { op: 'capabilities'; keep: bigint; phase: 'bounding' | 'sets' }
  | { op: 'mkdir'; path: string; mode: number; scope?: PathScope }
  | { op: 'touch'; path: string; mode: number; scope?: PathScope }
  | { op: 'symlink'; target: string; path: string; scope?: PathScope }
  /** A private copy of one of nsbox's own files, opened by the caller as sourceFd (host scope). */
  | { op: 'copyFile'; sourceFd: number; path: string; mode: number }
  | { op: 'pivotRoot'; path: string; putOld: string }
  | { op: 'umount'; path: string; flags: number }
  | { op: 'rmdir'; path: string }
  /** A classic BPF program (struct sock_filter[]) installed with seccomp(2): after noNewPrivs, just before exec. */
  | { op: 'seccomp'; program: Buffer }
  /** execFd: a program the caller opened (outside the process's root), run with execveat. */
  | { op: 'exec'; file: string; argv: string[]; env: string[]; path: string; execFd?: number };

export interface SpawnPlan {
  /** CLONE_NEW* flags for the final process. */
  cloneFlags: number;
  /** The final process is the middle one's child, not the caller's (with execMiddle). */
  finalIsMiddlesChild?: boolean;
  middle: MiddleStep[];
  after: AfterStep[];
  child: ChildStep[];
}

export type AnyStep = MiddleStep | AfterStep | ChildStep;

/** Each step's code in the encoding, and its name in plan.h (checked against it by test/plan-abi.test.ts). */
export const PLAN_OPS = {
  setnsFd: { code: 1, c: 'OP_SETNS_FD' },
  setnsPidfd: { code: 2, c: 'OP_SETNS_PIDFD' },
  unshare: { code: 3, c: 'OP_UNSHARE' },
  enterPidNamespace: { code: 4, c: 'OP_ENTER_PIDNS' },
  run: { code: 10, c: 'OP_RUN' },
  writeProc: { code: 11, c: 'OP_WRITE_PROC' },
  release: { code: 12, c: 'OP_RELEASE' },
  execMiddle: { code: 13, c: 'OP_EXEC_MIDDLE' },
  waitRelease: { code: 20, c: 'OP_WAIT_RELEASE' },
  setIds: { code: 21, c: 'OP_SETGID_UID' },
  sethostname: { code: 22, c: 'OP_SETHOSTNAME' },
  loopbackUp: { code: 23, c: 'OP_LOOPBACK_UP' },
  mount: { code: 24, c: 'OP_MOUNT' },
  chdir: { code: 25, c: 'OP_CHDIR' },
  setsid: { code: 26, c: 'OP_SETSID' },
  setCtty: { code: 27, c: 'OP_SET_CTTY' },
  stdio: { code: 28, c: 'OP_STDIO' },
  keepFd: { code: 29, c: 'OP_KEEP_FD' },
  closeFds: { code: 30, c: 'OP_CLOSE_FDS' },
  rlimit: { code: 31, c: 'OP_RLIMIT' },
  noNewPrivs: { code: 32, c: 'OP_NO_NEW_PRIVS' },
  pdeathsig: { code: 33, c: 'OP_PDEATHSIG' },
  umask: { code: 34, c: 'OP_UMASK' },
  mkdir: { code: 35, c: 'OP_MKDIR' },
  touch: { code: 36, c: 'OP_TOUCH' },
  symlink: { code: 37, c: 'OP_SYMLINK' },
  pivotRoot: { code: 38, c: 'OP_PIVOT_ROOT' },
  umount: { code: 39, c: 'OP_UMOUNT' },
  rmdir: { code: 41, c: 'OP_RMDIR' },
  exec: { code: 40, c: 'OP_EXEC' },
  capabilities: { code: 42, c: 'OP_CAPS' },
  copyFile: { code: 43, c: 'OP_COPY_FILE' },
  pty: { code: 44, c: 'OP_PTY' },
  sendMountNamespace: { code: 45, c: 'OP_SEND_MNTNS' },
  seccomp: { code: 46, c: 'OP_SECCOMP' },
  daemonize: { code: 47, c: 'OP_DAEMONIZE' },
} as const satisfies Record<AnyStep['op'], { code: number; c: string }>;

/** The plan header's magic and version, and the size of a step's header (plan.h). */
export const PLAN_FORMAT = { magic: 0x5842534e, version: 2, planHeader: 32, stepHeader: 48 } as const;
const MAGIC = PLAN_FORMAT.magic;
const VERSION = PLAN_FORMAT.version;
const STEP_HEADER = PLAN_FORMAT.stepHeader;

const scopeOf = (s: { scope?: PathScope }): number => SCOPE[s.scope ?? 'host'];

/** A step's four numbers and its strings, as the shim reads them (and raw bytes after them: seccomp's program). */
export function stepFields(s: AnyStep): { args: bigint[]; strings: string[]; payload?: Buffer } {
  const n = (...v: (number | bigint)[]) => v.map((x) => BigInt(x));
  switch (s.op) {
    case 'setnsFd':
      return { args: n(s.fd, s.nstype), strings: [] };
    case 'setnsPidfd':
      return { args: n(s.pidfd, s.flags), strings: [] };
    case 'unshare':
      return { args: n(s.flags), strings: [] };
    case 'run':
      return { args: [], strings: s.argv };
    case 'writeProc':
      return { args: [], strings: [s.file, s.content] };
    case 'release':
    case 'enterPidNamespace':
    case 'waitRelease':
    case 'loopbackUp':
    case 'setsid':
    case 'daemonize':
    case 'noNewPrivs':
      return { args: [], strings: [] };
    case 'setIds':
      return { args: n(s.gid, s.uid, s.clearGroups ? 1 : 0), strings: [] };
    case 'sethostname':
      return { args: [], strings: [s.hostname] };
    case 'mount':
      return { args: n(s.flags, scopeOf(s)), strings: [s.source, s.target, s.fstype, s.data, ...(s.beneath ? [s.beneath] : [])] };
    case 'chdir':
      return { args: n(scopeOf(s)), strings: [s.path] };
    case 'setCtty':
      return { args: n(s.fd), strings: [] };
    case 'pty':
      return { args: n(s.socketFd, s.rows, s.cols), strings: [] };
    case 'sendMountNamespace':
      return { args: n(s.socketFd), strings: [] };
    case 'stdio':
      return { args: n(...s.fds), strings: [] };
    case 'keepFd':
      return { args: n(s.from, s.to), strings: [] };
    case 'closeFds':
      return { args: n(s.from), strings: [] };
    case 'rlimit':
      return { args: n(s.resource, s.soft, s.hard), strings: [] };
    case 'pdeathsig':
      return { args: n(s.signal), strings: [] };
    case 'umask':
      return { args: n(s.mask), strings: [] };
    case 'capabilities':
      return { args: n(s.keep, s.phase === 'bounding' ? 0 : 1), strings: [] };
    case 'mkdir':
    case 'touch':
      return { args: n(s.mode, scopeOf(s)), strings: [s.path] };
    case 'symlink':
      return { args: n(scopeOf(s)), strings: [s.target, s.path] };
    case 'copyFile':
      return { args: n(s.mode, s.sourceFd), strings: [s.path] };
    case 'pivotRoot':
      return { args: [], strings: [s.path, s.putOld] };
    case 'umount':
      return { args: n(s.flags), strings: [s.path] };
    case 'rmdir':
      return { args: [], strings: [s.path] };
    case 'seccomp':
      return { args: n(s.program.length / 8), strings: [], payload: s.program };
    case 'exec':
      return { args: n(s.argv.length, s.env.length, s.execFd ?? -1), strings: [s.file, ...s.argv, ...s.env, s.path] };
    case 'execMiddle': {
      const keep = s.keepFds ?? [];
      return { args: n(s.argv.length, s.env.length, keep.length), strings: [s.file, ...s.argv, ...s.env, '', ...keep.map(String)] };
    }
  }
}

function encodeStep(s: AnyStep): Buffer {
  const { args, strings, payload: raw } = stepFields(s);
  for (const str of strings) {
    if (str.includes('\0')) throw new TypeError(`plan step ${s.op}: string contains a NUL byte`);
  }
  const payload = raw ?? Buffer.from(strings.map((x) => x + '\0').join(''), 'utf8');
  const size = Math.ceil((STEP_HEADER + payload.length) / 8) * 8;
  const buf = Buffer.alloc(size);
  buf.writeUInt32LE(PLAN_OPS[s.op].code, 0);
  buf.writeUInt32LE(size, 4);
  for (let i = 0; i < 4; i++) buf.writeBigInt64LE(BigInt.asIntN(64, args[i] ?? 0n), 8 + i * 8);
  buf.writeUInt32LE(strings.length, 40);
  payload.copy(buf, STEP_HEADER);
  return buf;
}

export function encodePlan(plan: SpawnPlan): Buffer {
  // The middle process that execs stays F's parent; with enterPidNamespace it has handed its work on.
  if (plan.middle.some((s) => s.op === 'enterPidNamespace') && (plan.finalIsMiddlesChild || plan.after.some((s) => s.op === 'execMiddle')))
    throw new TypeError('plan: enterPidNamespace cannot go with a middle process that stays the parent (execMiddle)');
  const header = Buffer.alloc(PLAN_FORMAT.planHeader);
  header.writeUInt32LE(MAGIC, 0);
  header.writeUInt32LE(VERSION, 4);
  header.writeBigUInt64LE(BigInt(plan.cloneFlags), 8);
  header.writeUInt32LE(plan.finalIsMiddlesChild ? 1 : 0, 16);
  header.writeUInt32LE(plan.middle.length, 20);
  header.writeUInt32LE(plan.after.length, 24);
  header.writeUInt32LE(plan.child.length, 28);
  return Buffer.concat([header, ...plan.middle.map(encodeStep), ...plan.after.map(encodeStep), ...plan.child.map(encodeStep)]);
}

/** Human-readable form for --debug. */
export function describePlan(plan: SpawnPlan): string {
  const line = (s: AnyStep): string => `  ${s.op} ${JSON.stringify({ ...s, op: undefined }, (k, v) => (typeof v === 'bigint' ? v.toString() : k === 'program' ? `${s.op === 'seccomp' ? s.program.length / 8 : 0} instructions` : v))}`;
  return [
    `clone flags 0x${plan.cloneFlags.toString(16)}`,
    'middle:',
    ...plan.middle.map(line),
    'after clone:',
    ...plan.after.map(line),
    'child:',
    ...plan.child.map(line),
  ].join('\n');
}
