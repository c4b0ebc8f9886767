// Pure builders of the shim plans for a pod: creating the pause, and joining
// a pod to exec a command. No I/O here, so they are unit-testable and --debug
// can print them.
import { canSetGroups, mappingSteps, type IdMapping } from '../idmap/mapping.js';
import { CLONE, MS, type AfterStep, type ChildStep, type MiddleStep, type MountingStep, type SpawnPlan } from '../native/plan.js';
import { devSteps, mountStep } from './dev-steps.js';

/** The order of namespaces a pod holds; user first when joining (setns). */
export const POD_NAMESPACES = ['user', 'mnt', 'pid', 'net', 'ipc', 'uts'] as const;

export const POD_CLONE_FLAGS = CLONE.NEWUSER | CLONE.NEWNS | CLONE.NEWPID | CLONE.NEWNET | CLONE.NEWIPC | CLONE.NEWUTS;

/**
 * What a process joins of its pod: everything but the pause's mount
 * namespace, which holds nothing (an empty root); each process gets a
 * mount namespace of its own.
 */
export const POD_JOIN_FLAGS = CLONE.NEWUSER | CLONE.NEWNET | CLONE.NEWIPC | CLONE.NEWUTS | CLONE.NEWPID;

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const SIGKILL = 9;
const PAUSE_READY_FD = 3;

export interface PausePlanInput {
  hostname: string;
  mapping: IdMapping;
  /** The pause program, opened by the caller (it may lie where the pause's root is mounted). */
  pauseFd: number;
  /** Write end of the readiness pipe, in this process. */
  readyFd: number;
  /** A supervisor command that the middle process becomes, parent of the pause. */
  supervisor?: { file: string; argv: string[]; env: string[]; keepFds?: number[] };
  /**
   * Nest inside the user namespace held by this pidfd's process (the shared
   * network user namespace): the middle process joins it first, so its root
   * keeps CAP_NET_ADMIN over the new namespaces. newUserns: the pod gets a
   * user namespace of its own inside it (ids 1:1); false: a network holder,
   * whose namespaces belong to that user namespace itself.
   */
  nestIn?: { pidfd: number; newUserns: boolean };
  /** No parent-death signal: a network holder outlives its creator. */
  persistent?: boolean;
}

/**
 * Where the pause's empty root is mounted before pivot_root: any directory
 * of its private copy of the host's mounts will do.
 */
const PAUSE_ROOT = '/tmp';

export function pausePlan(input: PausePlanInput): SpawnPlan {
  const child: ChildStep[] = [
    { op: 'waitRelease' },
    { op: 'setIds', uid: 0, gid: 0, clearGroups: canSetGroups(input.mapping) },
    { op: 'sethostname', hostname: input.hostname },
    { op: 'loopbackUp' },
    mountStep('', '/', '', MS.REC | MS.PRIVATE),
    // The pause's root holds nothing of the host: every process of the pod
    // can follow /proc/1/root, /proc/1/cwd and /proc/1/exe. Its program is a
    // private copy, so not even the user's own pause binary is reachable.
    mountStep('tmpfs', PAUSE_ROOT, 'tmpfs', MS.NOSUID | MS.NODEV, 'mode=0755,size=4m'),
    { op: 'copyFile', sourceFd: input.pauseFd, path: `${PAUSE_ROOT}/pause`, mode: 0o555 },
    // No fd at all but the readiness pipe (closed once ready): /proc/1/fd leads nowhere.
    { op: 'keepFd', from: input.readyFd, to: PAUSE_READY_FD },
    { op: 'closeFds', from: 0 },
    { op: 'pivotRoot', path: PAUSE_ROOT, putOld: '' },
    mountStep('', '/', '', MS.REMOUNT | MS.BIND | MS.RDONLY | MS.NOSUID | MS.NODEV),
    { op: 'chdir', path: '/' },
    { op: 'setsid' },
    // Last, after every credential change: the pod dies with its supervisor.
    ...(input.persistent ? [] : [{ op: 'pdeathsig' as const, signal: SIGKILL }]),
    { op: 'exec', file: '/pause', argv: ['/pause'], env: [], path: '' },
  ];
  const supervisor = input.supervisor ? [{ op: 'execMiddle' as const, ...input.supervisor }] : [];
  const nest = input.nestIn;
  const maps = !nest ? mappingSteps(input.mapping) : nest.newUserns ? nestedMappingSteps(input.mapping) : [];
  return {
    cloneFlags: nest && !nest.newUserns ? POD_CLONE_FLAGS & ~CLONE.NEWUSER : POD_CLONE_FLAGS,
    finalIsMiddlesChild: !!input.supervisor,
    middle: nest ? [{ op: 'setnsPidfd', pidfd: nest.pidfd, flags: CLONE.NEWUSER }] : [],
    after: [...maps, { op: 'release' }, ...supervisor],
    child,
  };
}

/**
 * Maps of a user namespace nested in one that has the pod mapping: every id
 * of the parent 1:1, written through /proc by the middle process, which is
 * the parent's root by then (no newuidmap).
 */
export function nestedMappingSteps(m: IdMapping): AfterStep[] {
  // One line per extent of the parent's map: the kernel wants each line
  // inside one extent there (you as 0, your range as 1..N).
  const lines = (count: number) => (m.kind === 'root' ? '0 0 4294967295\n' : m.kind === 'full' ? `0 0 1\n1 1 ${count}\n` : '0 0 1\n');
  return [
    { op: 'writeProc', file: 'uid_map', content: lines(m.kind === 'full' ? m.subuid.count : 0) },
    { op: 'writeProc', file: 'gid_map', content: lines(m.kind === 'full' ? m.subgid.count : 0) },
  ];
}

/**
 * What an exec of a host program sees of the host: these directories,
 * read-only (bound, or recreated as the symlinks they are on merged-/usr
 * systems), and nothing else: no home directories, no /tmp, no /run, no
 * state directory. Found by lookUpHostView() (host-view.ts).
 */
export interface HostView {
  dirs: string[];
  links: { path: string; target: string }[];
}

export const HOST_VIEW_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc'] as const;

/** Where the exec's view is assembled before pivot_root (its private copy of the mounts). */
const VIEW = '/tmp';

/** The view's root (a tmpfs) with the host's system directories bound read-only, and empty mount points. */
function systemDirSteps(view: HostView): MountingStep[] {
  const steps: MountingStep[] = [
    // First: nothing mounted below may propagate back to the host.
    mountStep('', '/', '', MS.REC | MS.PRIVATE),
    mountStep('tmpfs', VIEW, 'tmpfs', MS.NOSUID | MS.NODEV, 'mode=0755'),
  ];
  for (const dir of view.dirs) {
    steps.push(
      { op: 'mkdir', path: `${VIEW}${dir}`, mode: 0o755 },
      mountStep(dir, `${VIEW}${dir}`, '', MS.BIND | MS.REC),
      mountStep('', `${VIEW}${dir}`, '', MS.REMOUNT | MS.BIND | MS.REC | MS.RDONLY),
    );
  }
  for (const link of view.links) steps.push({ op: 'symlink', target: link.target, path: `${VIEW}${link.path}` });
  for (const [dir, mode] of [
    ['proc', 0o555],
    ['sys', 0o555],
    ['dev', 0o755],
    ['tmp', 0o1777],
    ['run', 0o755],
    ['root', 0o700],
  ] as const) {
    steps.push({ op: 'mkdir', path: `${VIEW}/${dir}`, mode });
  }
  return steps;
}

/** What the exec gets of its own, in the pod: /proc and /sys of the pod, /dev, /tmp, /run. */
function podFilesystemSteps(): ChildStep[] {
  return [
    mountStep('proc', `${VIEW}/proc`, 'proc', MS.NOSUID | MS.NODEV | MS.NOEXEC),
    mountStep('sysfs', `${VIEW}/sys`, 'sysfs', MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC),
    ...devSteps(`${VIEW}/dev`, '/dev', 'host'),
    mountStep('tmpfs', `${VIEW}/tmp`, 'tmpfs', MS.NOSUID | MS.NODEV, 'mode=1777'),
    mountStep('tmpfs', `${VIEW}/run`, 'tmpfs', MS.NOSUID | MS.NODEV, 'mode=755'),
  ];
}

/**
 * Rootless, the view is built by the final process, in a mount namespace
 * owned by the pod's user namespace: a container holding SYS_ADMIN and
 * SYS_PTRACE could remount it writable, which gives it nothing the user's
 * own file permissions do not (the view holds only root-owned system
 * directories). As root it would give host root's write access, so there
 * the middle process (still the host's root) builds the view in a mount
 * namespace of the host's user namespace; the copy the final process gets
 * has those mounts locked read-only (the kernel locks mounts that come
 * from a more privileged owner), and a recursive bind of the view gives
 * pivot_root an unlocked top.
 */
function hostViewPlan(view: HostView, lockedView: boolean): { middle: MiddleStep[]; child: ChildStep[] } {
  if (!lockedView) return { middle: [], child: [...systemDirSteps(view), ...podFilesystemSteps()] };
  return {
    middle: [{ op: 'unshare', flags: CLONE.NEWNS }, ...systemDirSteps(view), mountStep('', VIEW, '', MS.REMOUNT | MS.BIND | MS.RDONLY | MS.NOSUID | MS.NODEV)],
    child: [mountStep(VIEW, VIEW, '', MS.BIND | MS.REC), ...podFilesystemSteps()],
  };
}

/**
 * A command's stdio: fds of the caller (pipes, never the caller's own
 * stdio), or a terminal the command makes inside its root and whose master
 * it sends back over `socketFd`.
 */
export type CommandStdio = { fds: [number, number, number] } | { terminalSocket: number; rows: number; cols: number };

/** A new session, never the caller's (no way to its terminal); with a terminal, that one is its controlling tty. */
export function sessionSteps(stdio: CommandStdio): ChildStep[] {
  return [{ op: 'setsid' }, ...('terminalSocket' in stdio ? ([{ op: 'pty', socketFd: stdio.terminalSocket, rows: stdio.rows, cols: stdio.cols }] as ChildStep[]) : [])];
}

export interface ExecPlanInput {
  pausePidfd: number;
  argv: string[];
  env: string[];
  cwd: string;
  /** fds in this process for the command's stdin, stdout, stderr (-1: /dev/null), or a terminal made inside. */
  stdio: CommandStdio;
  hostView: HostView;
  /** Build the view so the pod cannot unlock it (needs the host's root: root-mode pods). */
  lockedView: boolean;
  /** The program, opened by the caller, when it lies outside the host view. */
  execFd?: number;
  /** Run as this user of the pod (exec -u); default its root. */
  user?: { uid: number; gid: number; canSetGroups: boolean };
}

/**
 * A host program in the pod's namespaces: the pod's user, network, IPC, UTS
 * and PID namespaces, and a mount namespace of its own with the host view,
 * the pod's /proc and /sys, its own /dev and /tmp.
 */
export function execPlan(input: ExecPlanInput): SpawnPlan {
  if (input.argv.length === 0) throw new TypeError('execPlan: empty command');
  const pathEntry = input.env.find((e) => e.startsWith('PATH='));
  const view = hostViewPlan(input.hostView, input.lockedView);
  const child: ChildStep[] = [
    ...view.child,
    { op: 'pivotRoot', path: VIEW, putOld: '' },
    mountStep('', '/', '', MS.REMOUNT | MS.BIND | MS.RDONLY | MS.NOSUID | MS.NODEV),
    // After the pivot, so that /dev/null is the view's own.
    ...('fds' in input.stdio ? ([{ op: 'stdio', fds: input.stdio.fds }] as ChildStep[]) : []),
    { op: 'closeFds', from: 3 },
    { op: 'chdir', path: input.cwd, scope: 'root' },
    ...sessionSteps(input.stdio),
    ...(input.user ? [{ op: 'setIds' as const, uid: input.user.uid, gid: input.user.gid, clearGroups: input.user.canSetGroups }] : []),
    { op: 'noNewPrivs' }, // as in containers: no setuid gains inside the pod
    {
      op: 'exec',
      file: input.argv[0]!,
      argv: input.argv,
      env: input.env,
      path: pathEntry ? pathEntry.slice(5) : DEFAULT_PATH,
      ...(input.execFd !== undefined ? { execFd: input.execFd } : {}),
    },
  ];
  return {
    cloneFlags: CLONE.NEWNS,
    middle: [...view.middle, { op: 'setnsPidfd', pidfd: input.pausePidfd, flags: POD_JOIN_FLAGS }],
    after: [],
    child,
  };
}
