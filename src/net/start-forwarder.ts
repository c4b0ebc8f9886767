// Starts the forwarder (native-shims/forward.c) inside the pod's user and
// network namespaces, with the host listeners as its fds 3, 4, ...; it dies
// with its parent.
import { artifacts, requireArtifact } from '../native/artifacts.js';
import { CLONE, type ChildStep, type SpawnPlan } from '../native/plan.js';
import { runPlan } from '../native/spawn.js';
import type { PortMapping } from './ports.js';

const SIGKILL = 9;

/** The forwarder's plan: its parent's pidfd of the pause, and its parent's fd of each listener. */
export function forwarderPlan(pausePidfd: number, ports: { fd: number; mapping: PortMapping }[]): SpawnPlan {
  const specs = ports.map((p, i) => `${3 + i}:${p.mapping.podPort}:${p.mapping.protocol}`);
  const forward = requireArtifact(artifacts.forwarder);
  const child: ChildStep[] = [
    { op: 'chdir', path: '/' },
    { op: 'stdio', fds: [-1, -1, 2] },
    ...ports.map((p, i) => ({ op: 'keepFd' as const, from: p.fd, to: 3 + i })),
    { op: 'closeFds', from: 3 + ports.length },
    { op: 'pdeathsig', signal: SIGKILL },
    { op: 'exec', file: forward, argv: [forward, ...specs], env: [], path: '' },
  ];
  return { cloneFlags: 0, middle: [{ op: 'setnsPidfd', pidfd: pausePidfd, flags: CLONE.NEWUSER | CLONE.NEWNET }], after: [], child };
}

export async function startForwarder(pausePidfd: number, ports: { fd: number; mapping: PortMapping }[]): Promise<number> {
  return runPlan(forwarderPlan(pausePidfd, ports));
}
