// The plan that starts a container's process, from its record: the same for
// its two possible parents (the pod's keeper, which gets it as data, and a
// library process, which runs it itself). Only the fds differ.
import { chmodSync, existsSync } from 'node:fs';
import { NsboxError } from '../errors.js';
import type { SpawnPlan } from '../native/plan.js';
import { SpawnFailure } from '../native/spawn.js';
import { execFailureExitCode, execFailureMessage } from '../pod/exec.js';
import { randomHex } from '../process/random.js';
import type { ContainerPaths } from './files.js';
import { containerPlan, maskedPathsOnThisKernel, type RootfsSource } from './plans.js';
import type { ContainerRecord } from './record.js';
import { containerSeccompProgram } from './seccomp.js';
import { adjustMasks } from './security-opts.js';

/** The parent's fds the plan names: the pause's pidfd, the pipes' write ends, the namespace socket. */
export interface StartFds {
  pausePidfd: number;
  stdout: number;
  stderr: number;
  namespaceSocket: number;
  /** run -i: the parent's fd for its stdin (-1: /dev/null). */
  stdin?: number;
  /** run -t: where its terminal's master goes. */
  terminal?: { socketFd: number; rows: number; cols: number };
}

export function startPlan(r: ContainerRecord, paths: ContainerPaths, layerDirs: string[], mapping: string, fds: StartFds): SpawnPlan {
  const rootfs: RootfsSource = r.rootfs === 'overlay' ? { kind: 'overlay', lowerDirs: layerDirs, upperDir: paths.upper, workDir: paths.work } : { kind: 'copy', dir: paths.copy };
  return containerPlan({
    pausePidfd: fds.pausePidfd,
    mountPoint: paths.mountPoint,
    rootfs,
    etcFiles: { hosts: paths.hosts, resolvConf: paths.resolvConf, hostname: paths.hostname },
    readOnly: r.readOnly,
    capabilities: r.capabilities,
    argv: r.argv,
    env: r.env,
    workdir: r.workdir,
    user: r.user,
    canSetGroups: mapping !== 'single',
    oldRootSuffix: randomHex(16),
    stdio: [fds.stdin ?? -1, fds.stdout, fds.stderr],
    ...(fds.terminal ? { terminal: fds.terminal } : {}),
    namespaceSocket: fds.namespaceSocket,
    masks: adjustMasks(maskedPathsOnThisKernel(), r),
    mounts: r.mounts ?? [],
    seccomp: containerSeccompProgram(r, paths),
    privatePid: r.pidNamespace === 'private',
  });
}

/** True when the start failed because overlayfs is not available here: the copy fallback applies. */
export function overlayRefused(r: ContainerRecord, e: unknown): e is SpawnFailure {
  return e instanceof SpawnFailure && e.failedStep?.op === 'mount' && e.failedStep.fstype === 'overlay' && r.rootfs === 'overlay';
}

/** What a start that failed is recorded as: a shell's exit code (127/126 for the command, else 125) and one line. */
export function startFailure(r: ContainerRecord, e: unknown): { code: number; message: string } {
  if (e instanceof SpawnFailure && e.failedStep?.op === 'exec') return { code: execFailureExitCode(e.errno), message: execFailureMessage(r.argv[0]!, e.errno) + seccompExecHint(r, e.errno) };
  return { code: 125, message: e instanceof NsboxError ? e.oneLine() : String(e) };
}

const EPERM = 1;
const ENOSYS = 38;

/** exec refused with an errno a seccomp profile gives: the profile is the likely cause, not the program. */
function seccompExecHint(r: ContainerRecord, errno: number): string {
  if (r.seccomp === undefined || r.seccomp === 'unconfined' || (errno !== EPERM && errno !== ENOSYS)) return '';
  const which = r.seccomp === 'default' ? 'the default seccomp profile' : `seccomp profile ${r.seccomp}`;
  return ` (${which} refuses execve? allow execve and execveat in it)`;
}

/** The copy fallback: the layers flattened into the container's own directory (once). */
export async function ensureRootfsCopy(paths: ContainerPaths, image: { dataRoot: string; id: string; layers: string[] }): Promise<void> {
  if (existsSync(paths.copy)) return;
  const { materializeRootfs } = await import('../image/store.js');
  await materializeRootfs(image.dataRoot, { id: image.id, layers: image.layers }, paths.copy);
  // As with overlay, whose root takes the upper directory's mode.
  chmodSync(paths.copy, 0o755);
}
