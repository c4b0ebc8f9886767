// Runs Debian's `ip` (iproute2) in a process's user and network namespaces
// through the shim: no netlink code of our own. Commands go in as a batch
// on stdin (`ip -b -`), so each side of a wiring is one process.
import { NsboxError } from '../errors.js';
import { findExecutable } from '../idmap/mapping.js';
import { closeFd, pidfdOpen } from '../native/ffi.js';
import { CLONE, type SpawnPlan } from '../native/plan.js';
import { execCaptured } from '../pod/exec.js';
import { identify, type ProcIdentity } from '../process/proc-stat.js';

export function ipPlan(ipPath: string, pidfd: number, stdio: [number, number, number]): SpawnPlan {
  return {
    cloneFlags: 0,
    middle: [{ op: 'setnsPidfd', pidfd, flags: CLONE.NEWUSER | CLONE.NEWNET }],
    after: [],
    child: [
      { op: 'stdio', fds: stdio },
      { op: 'closeFds', from: 3 },
      { op: 'exec', file: ipPath, argv: [ipPath, '-b', '-'], env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], path: '' },
    ],
  };
}

function ipProgram(): string {
  const p = findExecutable('ip');
  if (!p) throw new NsboxError('IP_MISSING', 'user networks need the `ip` program, which is not installed', 'install the Debian package iproute2');
  return p;
}

/** A pidfd of the recorded process, or null when it is gone (or its pid is another's now). */
export function openIdentified(id: ProcIdentity): number | null {
  const fd = pidfdOpen(id.pid);
  if (fd < 0) return null;
  const now = identify(id.pid);
  if (!now || now.startTime !== id.startTime) {
    closeFd(fd);
    return null;
  }
  return fd;
}

/** Runs the `ip` batch in the namespaces of the process `pidfd` refers to; throws with ip's message. */
export async function runIp(pidfd: number, commands: string[], what: string): Promise<void> {
  const ip = ipProgram();
  const r = await execCaptured({ stdin: commands.join('\n') + '\n', timeoutMs: 10_000 }, (stdio) => ipPlan(ip, pidfd, stdio));
  if (r.exitCode !== 0) {
    const line = (r.stderr || r.stdout).trim().split('\n').filter(Boolean).pop() ?? `exit code ${r.exitCode}`;
    throw new NsboxError('NETWORK_WIRING', `${what}: ip: ${line}`, 'run `nsbox check`; user networks need iproute2 and user namespaces');
  }
}
