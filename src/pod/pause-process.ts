// Starts a pod's pause process (PID 1 of the new namespaces) as a child of
// this process, and waits until it reports readiness on its pipe.
import { readSync } from 'node:fs';
import { NsboxError } from '../errors.js';
import type { IdMapping } from '../idmap/mapping.js';
import { artifacts, requireArtifact } from '../native/artifacts.js';
import { closeFd, pidfdOpen, pipe } from '../native/ffi.js';
import { runPlan } from '../native/spawn.js';
import { kill } from '../native/ffi.js';
import { identify, type ProcIdentity } from '../process/proc-stat.js';
import { reaper } from '../process/reaper.js';
import { pausePlan } from './plans.js';
import { SyscallError } from '../errors.js';

export interface PauseProcess extends ProcIdentity {
  /** pidfd of the pause, used to join its namespaces. */
  pidfd: number;
}

export async function startPause(opts: { hostname: string; mapping: IdMapping; blocking?: boolean }): Promise<PauseProcess> {
  const ready = pipe();
  if (ready.rc < 0) throw new SyscallError('pipe2', -ready.rc);
  let pid = 0;
  try {
    const plan = pausePlan({ hostname: opts.hostname, mapping: opts.mapping, pausePath: requireArtifact(artifacts.pause), readyFd: ready.write });
    pid = await runPlan(plan, { blocking: opts.blocking });
    closeFd(ready.write);
    ready.write = -1;
    // The pause writes one byte once its signal handlers are in place.
    const buf = Buffer.alloc(1);
    const n = readSync(ready.read, buf, 0, 1, null);
    if (n !== 1) throw new NsboxError('PAUSE_FAILED', 'the pause process exited before it was ready', 'run `nsbox check` to see what this machine lacks');
    const id = identify(pid);
    const pidfd = pidfdOpen(pid);
    if (!id || pidfd < 0) throw new SyscallError('pidfd_open of the pause', pidfd < 0 ? -pidfd : 3);
    return { ...id, pidfd };
  } catch (err) {
    if (pid > 0) {
      kill(pid, 9);
      await reaper.wait(pid);
    }
    throw err;
  } finally {
    if (ready.write >= 0) closeFd(ready.write);
    closeFd(ready.read);
  }
}
