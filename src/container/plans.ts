// Pure builders of the shim plans for containers: the container's own mount
// namespace (overlay root, /proc, /dev, /sys, /etc files, pivot_root) inside
// the pod's other namespaces, and joining a running container for exec.
import { statSync } from 'node:fs';
import { posix } from 'node:path';
import { CLONE, MNT_DETACH, MS, type ChildStep, type SpawnPlan } from '../native/plan.js';
import type { Mount } from './mounts.js';
import { devSteps, mountStep } from '../pod/dev-steps.js';
import { POD_JOIN_FLAGS, sessionSteps, type CommandStdio } from '../pod/plans.js';
import { capabilityMask } from './capabilities.js';

/**
 * Kernel interfaces a container has no business with (runc's defaults):
 * masked ones are covered (a file by /dev/null, a directory by an empty
 * read-only tmpfs), read-only ones are bound read-only onto themselves.
 */
export const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
] as const;
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'] as const;

export interface MaskedPath {
  path: string;
  dir: boolean;
}

/**
 * Which of MASKED_PATHS exist on this kernel, and which are directories: the
 * container's /proc and /sys come from the same kernel as the host's. A
 * mount over a missing path would fail, so missing ones are left out.
 */
let kernelMasks: { masked: MaskedPath[]; readOnly: string[] } | null = null;

/** The kernel does not change under a running supervisor: looked up once. */
export function maskedPathsOnThisKernel(): { masked: MaskedPath[]; readOnly: string[] } {
  return (kernelMasks ??= lookUpMaskedPaths());
}

function lookUpMaskedPaths(): { masked: MaskedPath[]; readOnly: string[] } {
  const kind = (p: string) => {
    try {
      return statSync(p).isDirectory() ? 'dir' : 'file';
    } catch {
      return null;
    }
  };
  return {
    masked: MASKED_PATHS.map((path) => ({ path, k: kind(path) })).filter((x) => x.k !== null).map((x) => ({ path: x.path, dir: x.k === 'dir' })),
    readOnly: READONLY_PATHS.filter((p) => kind(p) !== null),
  };
}

export type RootfsSource =
  | { kind: 'overlay'; lowerDirs: string[]; upperDir: string; workDir: string }
  | { kind: 'copy'; dir: string };

export interface ContainerPlanInput {
  pausePidfd: number;
  /** Host directory where the root is mounted before pivot_root. */
  mountPoint: string;
  rootfs: RootfsSource;
  /** Host files bound over /etc/hosts, /etc/resolv.conf, /etc/hostname. */
  etcFiles: { hosts: string; resolvConf: string; hostname: string };
  readOnly: boolean;
  argv: string[];
  env: string[];
  workdir: string;
  user: { uid: number; gid: number };
  /** False when the pod maps a single id: setgroups(2) is denied there. */
  canSetGroups: boolean;
  /** Random, so that no symlink in the image can name the old root. */
  oldRootSuffix: string;
  stdio: [number, number, number];
  /** run -t: a terminal made inside (its master sent on socketFd) instead of stdio. */
  terminal?: { socketFd: number; rows: number; cols: number };
  /** Where the container's process sends an fd of its mount namespace (see mount-namespace.ts). */
  namespaceSocket: number;
  /** From maskedPathsOnThisKernel(). */
  masks: { masked: MaskedPath[]; readOnly: string[] };
  /** Capability names to keep (default: podman's set). */
  capabilities?: string[];
  /** -v and --tmpfs, validated (mounts.ts). */
  mounts?: Mount[];
  /** The compiled seccomp program (container/seccomp.ts); absent: unconfined. */
  seccomp?: Buffer | null;
  /** A PID namespace of its own, made inside the pod's (which the middle process joins first). */
  privatePid?: boolean;
}

/** A mount whose target lies inside the container's root (after pivot_root). */
const mountIn = (source: string, target: string, fstype: string, flags: number, data = ''): ChildStep => mountStep(source, target, fstype, flags, data, 'root');

/** overlayfs lowerdir lists the top layer first; we keep layers bottom first. */
export function overlayOptions(r: { lowerDirs: string[]; upperDir: string; workDir: string }): string {
  const lower = [...r.lowerDirs].reverse().join(':');
  return `lowerdir=${lower},upperdir=${r.upperDir},workdir=${r.workDir},userxattr`;
}

function rootfsSteps(input: ContainerPlanInput): ChildStep[] {
  const m = input.mountPoint;
  if (input.rootfs.kind === 'overlay') return [mountStep('overlay', m, 'overlay', 0, overlayOptions(input.rootfs))];
  // pivot_root needs a mount point: bind the copy onto itself.
  return [mountStep(input.rootfs.dir, m, '', MS.BIND | MS.REC)];
}

/**
 * Everything from here on runs after pivot_root, with every target resolved
 * inside the container's root (image symlinks followed inside it, /proc
 * magic links refused); host files are bound from the old root, kept under
 * a random name the image cannot point at.
 */
function etcSteps(oldRoot: string, files: ContainerPlanInput['etcFiles']): ChildStep[] {
  const steps: ChildStep[] = [{ op: 'mkdir', path: '/etc', mode: 0o755, scope: 'root' }];
  for (const [name, source] of [
    ['hosts', files.hosts],
    ['resolv.conf', files.resolvConf],
    ['hostname', files.hostname],
  ] as const) {
    steps.push({ op: 'touch', path: `/etc/${name}`, mode: 0o644, scope: 'root' }, mountIn(`${oldRoot}${source}`, `/etc/${name}`, '', MS.BIND));
  }
  return steps;
}

/** After /proc, /sys and /dev exist inside: cover or freeze the kernel's sensitive files. */
function maskSteps(masks: ContainerPlanInput['masks']): ChildStep[] {
  const steps: ChildStep[] = [];
  const frozen = MS.NOSUID | MS.NODEV | MS.NOEXEC;
  for (const m of masks.masked) {
    if (m.dir) steps.push(mountIn('tmpfs', m.path, 'tmpfs', MS.RDONLY | frozen, 'mode=555'));
    else steps.push(mountIn('/dev/null', m.path, '', MS.BIND));
  }
  for (const p of masks.readOnly) {
    steps.push(mountIn(p, p, '', MS.BIND | MS.REC), mountIn('', p, '', MS.REMOUNT | MS.BIND | MS.REC | MS.RDONLY | frozen));
  }
  return steps;
}

export function containerPlan(input: ContainerPlanInput): SpawnPlan {
  const m = input.mountPoint;
  const oldRootName = `.nsbox-oldroot-${input.oldRootSuffix}`;
  const oldRoot = `/${oldRootName}`;
  const child: ChildStep[] = [
    { op: 'sendMountNamespace', socketFd: input.namespaceSocket },
    mountStep('', '/', '', MS.REC | MS.PRIVATE),
    ...rootfsSteps(input),
    { op: 'mkdir', path: `${m}/${oldRootName}`, mode: 0o700 },
    { op: 'pivotRoot', path: m, putOld: oldRootName },
    // Kernel filesystems go on real directories: an image symlink there is refused.
    { op: 'mkdir', path: '/proc', mode: 0o555, scope: 'rootNoSymlinks' },
    mountStep('proc', '/proc', 'proc', MS.NOSUID | MS.NODEV | MS.NOEXEC, '', 'rootNoSymlinks'),
    { op: 'mkdir', path: '/sys', mode: 0o555, scope: 'rootNoSymlinks' },
    mountStep('sysfs', '/sys', 'sysfs', MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, '', 'rootNoSymlinks'),
    ...devSteps('/dev', `${oldRoot}/dev`, 'root'),
    ...maskSteps(input.masks),
    ...etcSteps(oldRoot, input.etcFiles),
    { op: 'mkdir', path: '/tmp', mode: 0o1777, scope: 'root' },
    // As docker and runc do: a missing working directory is created (before --read-only).
    ...workdirSteps(input.workdir),
    ...(input.readOnly ? readOnlyTmpfsSteps() : []),
    ...userMountSteps(oldRoot, input.mounts ?? []),
    { op: 'umount', path: oldRoot, flags: MNT_DETACH },
    { op: 'rmdir', path: oldRoot },
    // Last: the root itself, once everything is in place.
    ...(input.readOnly ? [mountIn('', '/', '', MS.REMOUNT | MS.BIND | MS.RDONLY)] : []),
    ...(input.terminal
      ? sessionSteps({ terminalSocket: input.terminal.socketFd, rows: input.terminal.rows, cols: input.terminal.cols })
      : ([{ op: 'stdio', fds: input.stdio }] as ChildStep[])),
    { op: 'closeFds', from: 3 },
    ...becomeUserAndExec({ ...input, cwd: input.workdir }),
  ];
  return {
    // Its /proc is mounted by the child, so with privatePid it lists only the container's processes.
    cloneFlags: CLONE.NEWNS | (input.privatePid ? CLONE.NEWPID : 0),
    middle: [{ op: 'setnsPidfd', pidfd: input.pausePidfd, flags: POD_JOIN_FLAGS }, ...(input.privatePid ? [{ op: 'enterPidNamespace' as const }] : [])],
    after: [],
    child,
  };
}

/** mkdir -p inside the root, one component at a time (each resolved inside it). */
function workdirSteps(workdir: string): ChildStep[] {
  const parts = workdir.split('/').filter(Boolean);
  return parts.map((_p, i) => ({ op: 'mkdir' as const, path: `/${parts.slice(0, i + 1).join('/')}`, mode: 0o755, scope: 'root' as const }));
}

/**
 * The last steps of a container's process and of an exec into it: its
 * capabilities (the bounding set shrinks while we may still change it, the
 * rest after the uid change), its user, the working directory (entered as
 * that user, resolved inside the root), no_new_privs (no setuid binary or
 * file capability gains anything inside), the seccomp filter, then the
 * command.
 */
function becomeUserAndExec(input: {
  user: { uid: number; gid: number };
  canSetGroups: boolean;
  capabilities?: string[];
  cwd: string;
  argv: string[];
  env: string[];
  seccomp?: Buffer | null;
}): ChildStep[] {
  const keep = capabilityMask(input.capabilities);
  return [
    { op: 'capabilities', keep, phase: 'bounding' },
    { op: 'setIds', uid: input.user.uid, gid: input.user.gid, clearGroups: input.canSetGroups },
    { op: 'capabilities', keep, phase: 'sets' },
    { op: 'chdir', path: input.cwd, scope: 'root' },
    { op: 'noNewPrivs' },
    // Last before exec: the filter then constrains only the container's own program.
    ...(input.seccomp ? [{ op: 'seccomp' as const, program: input.seccomp }] : []),
    { op: 'exec', file: input.argv[0]!, argv: input.argv, env: input.env, path: pathOf(input.env) },
  ];
}

/** As podman's --read-only: a read-only root with writable tmpfs on /tmp, /run, /var/tmp. */
/** --read-only: writable tmpfs where programs expect to write (before the user's mounts, which may lie inside). */
function readOnlyTmpfsSteps(): ChildStep[] {
  const steps: ChildStep[] = [{ op: 'mkdir', path: '/var', mode: 0o755, scope: 'root' }];
  for (const dir of ['/tmp', '/run', '/var/tmp']) {
    steps.push({ op: 'mkdir', path: dir, mode: 0o1777, scope: 'root' }, mountIn('tmpfs', dir, 'tmpfs', MS.NOSUID | MS.NODEV, 'mode=1777'));
  }
  return steps;
}

const TMPFS_FLAGS: Record<string, number> = { ro: MS.RDONLY, noexec: MS.NOEXEC, nosuid: MS.NOSUID, nodev: MS.NODEV };

/**
 * The user's mounts. Each container path is created inside the root (an
 * image link on it is followed inside the root); a bind's source is its
 * host path under the old root, which the image cannot name.
 */
function userMountSteps(oldRoot: string, mounts: Mount[]): ChildStep[] {
  const steps: ChildStep[] = [];
  for (const m of mounts) {
    if (m.type === 'tmpfs') {
      const words = m.options.split(',').filter(Boolean);
      const flags = words.reduce((f, w) => f | (TMPFS_FLAGS[w] ?? 0), MS.NOSUID | MS.NODEV);
      const data = words.filter((w) => w.includes('=')).join(',');
      steps.push(...workdirSteps(m.target), mountIn('tmpfs', m.target, 'tmpfs', flags, data));
      continue;
    }
    const kind = m.type === 'volume' ? 'dir' : m.kind;
    const recursive = kind === 'dir' ? MS.REC : 0;
    if (kind === 'dir') steps.push(...workdirSteps(m.target));
    else steps.push(...workdirSteps(posix.dirname(m.target)), { op: 'touch', path: m.target, mode: 0o644, scope: 'root' });
    if (m.type === 'bind' && m.within) steps.push({ ...mountIn(`${oldRoot}${m.within}`, m.target, '', MS.BIND | recursive), beneath: posix.relative(m.within, m.source) } as ChildStep);
    else steps.push(mountIn(`${oldRoot}${m.source}`, m.target, '', MS.BIND | recursive));
    if (m.readOnly) steps.push(mountIn('', m.target, '', MS.REMOUNT | MS.BIND | MS.RDONLY | recursive));
  }
  return steps;
}

function pathOf(env: string[]): string {
  const p = env.find((e) => e.startsWith('PATH='));
  return p ? p.slice(5) : '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
}

export interface ContainerExecPlanInput {
  containerPidfd: number;
  argv: string[];
  env: string[];
  cwd: string;
  user: { uid: number; gid: number };
  canSetGroups: boolean;
  stdio: CommandStdio;
  /** The container's own set (its record). */
  capabilities?: string[];
  /** The container's own seccomp program (as runc does, an exec runs under it too). */
  seccomp?: Buffer | null;
}

/** Joins a running container: its mount namespace too, so its root and files, and its PID namespace (its own when private). */
export function containerExecPlan(input: ContainerExecPlanInput): SpawnPlan {
  const child: ChildStep[] = [
    ...('fds' in input.stdio ? ([{ op: 'stdio', fds: input.stdio.fds }] as ChildStep[]) : []),
    { op: 'closeFds', from: 3 },
    ...sessionSteps(input.stdio),
    ...becomeUserAndExec(input),
  ];
  return {
    cloneFlags: 0,
    middle: [{ op: 'setnsPidfd', pidfd: input.containerPidfd, flags: POD_JOIN_FLAGS | CLONE.NEWNS }],
    after: [],
    child,
  };
}
