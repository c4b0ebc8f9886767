// Pure builders of the shim plans for a pod: creating the pause, and joining
// a pod to exec a command. No I/O here, so they are unit-testable and --debug
// can print them.
import { canSetGroups, mappingSteps, type IdMapping } from '../idmap/mapping.js';
import { CLONE, MS, type ChildStep, type SpawnPlan } from '../native/plan.js';

/** The order of namespaces a pod holds; user first when joining (setns). */
export const POD_NAMESPACES = ['user', 'mnt', 'pid', 'net', 'ipc', 'uts'] as const;

export const POD_CLONE_FLAGS = CLONE.NEWUSER | CLONE.NEWNS | CLONE.NEWPID | CLONE.NEWNET | CLONE.NEWIPC | CLONE.NEWUTS;

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const SIGKILL = 9;
const PAUSE_READY_FD = 3;

export interface PausePlanInput {
  hostname: string;
  mapping: IdMapping;
  pausePath: string;
  /** Write end of the readiness pipe, in this process. */
  readyFd: number;
  /** A supervisor command that the middle process becomes, parent of the pause. */
  supervisor?: { file: string; argv: string[]; env: string[]; keepFds?: number[] };
}

export function pausePlan(input: PausePlanInput): SpawnPlan {
  const child: ChildStep[] = [
    { op: 'waitRelease' },
    { op: 'setIds', uid: 0, gid: 0, clearGroups: canSetGroups(input.mapping) },
    { op: 'sethostname', hostname: input.hostname },
    { op: 'loopbackUp' },
    { op: 'mount', source: '', target: '/', fstype: '', flags: MS.REC | MS.PRIVATE, data: '' },
    { op: 'mount', source: 'proc', target: '/proc', fstype: 'proc', flags: MS.NOSUID | MS.NODEV | MS.NOEXEC, data: '' },
    { op: 'chdir', path: '/' },
    { op: 'stdio', fds: [-1, -1, -1] },
    { op: 'keepFd', from: input.readyFd, to: PAUSE_READY_FD },
    { op: 'closeFds', from: PAUSE_READY_FD + 1 },
    { op: 'setsid' },
    // Last, after every credential change: the pod dies with its supervisor.
    { op: 'pdeathsig', signal: SIGKILL },
    { op: 'exec', file: input.pausePath, argv: ['/pause'], env: [], path: '' },
  ];
  const supervisor = input.supervisor ? [{ op: 'execMiddle' as const, ...input.supervisor }] : [];
  return {
    cloneFlags: POD_CLONE_FLAGS,
    finalIsMiddlesChild: !!input.supervisor,
    middle: [],
    after: [...mappingSteps(input.mapping), { op: 'release' }, ...supervisor],
    child,
  };
}

export interface ExecPlanInput {
  pausePidfd: number;
  argv: string[];
  env: string[];
  cwd: string;
  /** fds in this process for the command's stdin, stdout, stderr (-1: /dev/null). */
  stdio: [number, number, number];
  /** Make stdin the controlling terminal (a pty slave) in a new session. */
  tty: boolean;
}

export function execPlan(input: ExecPlanInput): SpawnPlan {
  if (input.argv.length === 0) throw new TypeError('execPlan: empty command');
  const pathEntry = input.env.find((e) => e.startsWith('PATH='));
  const child: ChildStep[] = [
    { op: 'chdir', path: input.cwd },
    { op: 'stdio', fds: input.stdio },
    { op: 'closeFds', from: 3 },
    ...(input.tty ? ([{ op: 'setsid' }, { op: 'setCtty', fd: 0 }] as ChildStep[]) : []),
    { op: 'noNewPrivs' }, // as in containers: no setuid gains inside the pod
    {
      op: 'exec',
      file: input.argv[0]!,
      argv: input.argv,
      env: input.env,
      path: pathEntry ? pathEntry.slice(5) : DEFAULT_PATH,
    },
  ];
  return {
    cloneFlags: 0,
    middle: [{ op: 'setnsPidfd', pidfd: input.pausePidfd, flags: POD_CLONE_FLAGS }],
    after: [],
    child,
  };
}
