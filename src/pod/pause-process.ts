// Starts a pod's pause process (PID 1 of the new namespaces) and waits until
// it reports readiness on its pipe. Its parent is this process (library
// pods), or the pod's keeper (native-shims/keeper), which the shim's middle
// process turns into.
import { closeSync, openSync, readSync } from 'node:fs';
import { NsboxError, SyscallError } from '../errors.js';
import type { IdMapping } from '../idmap/mapping.js';
import { artifacts, requireArtifact } from '../native/artifacts.js';
import { closeFd, kill, pidfdOpen, pipe } from '../native/ffi.js';
import { runPlanDetailed } from '../native/spawn.js';
import { identify, type ProcIdentity } from '../process/proc-stat.js';
import { reaper } from '../native/reaper.js';
import { pausePlan } from './plans.js';

const SIGKILL = 9;

export interface PauseProcess extends ProcIdentity {
  /** pidfd of the pause, used to join its namespaces (library pods only). */
  pidfd: number;
  /** The keeper that is the pause's parent, when one was asked for. */
  supervisor: ProcIdentity | null;
}

export interface StartPauseOptions {
  hostname: string;
  mapping: IdMapping;
  /**
   * The keeper's arguments after its program, and the fds it gets as 3, 4, ...
   * (native-shims/keeper/main.c). It inherits no environment: every plan it
   * runs names its own, so none of the creator's tokens reach it.
   */
  keeper?: { argv: string[]; fds: number[] };
  /** See PausePlanInput: nested in a network user namespace, and the holders' lifetime. */
  nestIn?: { pidfd: number; newUserns: boolean };
  persistent?: boolean;
}

export async function startPause(opts: StartPauseOptions): Promise<PauseProcess> {
  const ready = pipe();
  if (ready.rc < 0) throw new SyscallError('pipe2', -ready.rc);
  let pid = 0;
  let supervisorPid = 0;
  let pauseFd = -1;
  try {
    pauseFd = openSync(requireArtifact(artifacts.pause), 'r');
    const keeper = opts.keeper ? requireArtifact(artifacts.keeper) : '';
    const supervisor = opts.keeper ? { file: keeper, argv: [keeper, ...opts.keeper.argv], env: [], keepFds: opts.keeper.fds } : undefined;
    const plan = pausePlan({ hostname: opts.hostname, mapping: opts.mapping, pauseFd, readyFd: ready.write, supervisor, nestIn: opts.nestIn, persistent: opts.persistent });
    const result = await runPlanDetailed(plan);
    closeSync(pauseFd);
    pauseFd = -1;
    pid = result.pid;
    if (result.middleExecd) {
      supervisorPid = result.middlePid;
      // Our child now: reap it whenever it exits, without keeping us alive.
      void reaper.wait(supervisorPid, { keepAlive: false });
    }
    // A holder is our child until we exit: reap it if it goes first.
    if (opts.persistent) void reaper.wait(pid, { keepAlive: false });
    closeFd(ready.write);
    ready.write = -1;
    // The pause writes one byte once its signal handlers are in place.
    const buf = Buffer.alloc(1);
    const n = readSync(ready.read, buf, 0, 1, null);
    if (n !== 1) throw new NsboxError('PAUSE_FAILED', 'the pause process exited before it was ready', 'run `nsbox check` to see what this machine lacks');
    const id = identify(pid);
    const sup = supervisorPid ? identify(supervisorPid) : null;
    if (!id || (supervisorPid && !sup)) throw new NsboxError('PAUSE_FAILED', 'the pause or its supervisor exited at once', 'run `nsbox check`');
    const pidfd = supervisor ? -1 : pidfdOpen(pid);
    if (!supervisor && pidfd < 0) throw new SyscallError('pidfd_open of the pause', -pidfd);
    return { ...id, pidfd, supervisor: sup };
  } catch (err) {
    // The supervisor takes the pause with it (parent-death signal).
    if (supervisorPid > 0) kill(supervisorPid, SIGKILL);
    else if (pid > 0) {
      kill(pid, SIGKILL);
      await reaper.wait(pid);
    }
    throw err;
  } finally {
    if (pauseFd >= 0) closeSync(pauseFd);
    if (ready.write >= 0) closeFd(ready.write);
    closeFd(ready.read);
  }
}
