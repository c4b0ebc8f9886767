// The /dev a process in a pod gets (a container, or an exec of a host
// program): a fresh tmpfs with the harmless device nodes bound from the
// host (unprivileged tar extraction cannot mknod), its own devpts, shm and
// mqueue, and the fd links. Pure: builds plan steps only.
import { MS, type ChildStep, type MountingStep, type PathScope } from '../native/plan.js';

/** Device nodes bound from the host. */
export const DEV_NODES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'] as const;

export const mountStep = (source: string, target: string, fstype: string, flags: number, data = '', scope: PathScope = 'host'): Extract<MountingStep, { op: 'mount' }> => ({
  op: 'mount',
  source,
  target,
  fstype,
  flags,
  data,
  scope,
});

/**
 * `at` is where /dev goes (e.g. "/dev" after pivot_root, "/view/dev"
 * before it), `hostDev` where the host's nodes are seen from there.
 * scope applies to every target: a container's /dev itself must be a real
 * directory (no symlink), what is below it is our own tmpfs.
 */
export function devSteps(at: string, hostDev: string, scope: PathScope): ChildStep[] {
  const strict: PathScope = scope === 'host' ? 'host' : 'rootNoSymlinks';
  const steps: ChildStep[] = [
    { op: 'mkdir', path: at, mode: 0o755, scope: strict },
    mountStep('tmpfs', at, 'tmpfs', MS.NOSUID | MS.NOEXEC, 'mode=755,size=65536k', strict),
  ];
  for (const node of DEV_NODES) {
    steps.push({ op: 'touch', path: `${at}/${node}`, mode: 0o666, scope }, mountStep(`${hostDev}/${node}`, `${at}/${node}`, '', MS.BIND, '', scope));
  }
  steps.push(
    { op: 'mkdir', path: `${at}/pts`, mode: 0o755, scope },
    mountStep('devpts', `${at}/pts`, 'devpts', MS.NOSUID | MS.NOEXEC, 'newinstance,ptmxmode=0666,mode=620', scope),
    { op: 'symlink', target: 'pts/ptmx', path: `${at}/ptmx`, scope },
    { op: 'mkdir', path: `${at}/shm`, mode: 0o1777, scope },
    mountStep('shm', `${at}/shm`, 'tmpfs', MS.NOSUID | MS.NODEV | MS.NOEXEC, 'mode=1777,size=65536k', scope),
    { op: 'mkdir', path: `${at}/mqueue`, mode: 0o755, scope },
    mountStep('mqueue', `${at}/mqueue`, 'mqueue', MS.NOSUID | MS.NODEV | MS.NOEXEC, '', scope),
    { op: 'symlink', target: '/proc/self/fd', path: `${at}/fd`, scope },
    { op: 'symlink', target: '/proc/self/fd/0', path: `${at}/stdin`, scope },
    { op: 'symlink', target: '/proc/self/fd/1', path: `${at}/stdout`, scope },
    { op: 'symlink', target: '/proc/self/fd/2', path: `${at}/stderr`, scope },
  );
  return steps;
}
