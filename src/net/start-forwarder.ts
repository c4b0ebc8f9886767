// Starts the forwarder (native-shims/forward.c) inside the pod's user and
// network namespaces, with the host listeners as its fds 3, 4, ...; it dies
// with its parent.
import { artifacts, requireArtifact } from '../native/artifacts.js';
import { CLONE, type ChildStep } from '../native/plan.js';
import { runPlan } from '../native/spawn.js';
import type { PortMapping } from './ports.js';

const SIGKILL = 9;

export async function startForwarder(pausePidfd: number, ports: { fd: number; mapping: PortMapping }[]): Promise<number> {
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
  return runPlan({ cloneFlags: 0, middle: [{ op: 'setnsPidfd', pidfd: pausePidfd, flags: CLONE.NEWUSER | CLONE.NEWNET }], after: [], child });
}
