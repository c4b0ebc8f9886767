// Runs a command as root of a new user namespace with this user's id mapping
// (the same mapping pods get), e.g. to unpack image layers so that a file of
// uid 33 in a tarball is owned by 33 as containers see it.
import { runPlan } from '../native/spawn.js';
import { CLONE, type ChildStep } from '../native/plan.js';
import { reaper } from '../native/reaper.js';
import type { ExitStatus } from '../core/wait-status.js';
import { canSetGroups, chooseMapping, mappingSteps, type IdMapping } from './mapping.js';

export interface UsernsProcessOptions {
  argv: string[];
  env?: string[];
  cwd?: string;
  /** fds in this process for stdin, stdout, stderr (-1: /dev/null). */
  stdio?: [number, number, number];
  mapping?: IdMapping;
}

/** Starts the command; resolves to its pid (our child) and its exit. */
export async function spawnInUserns(o: UsernsProcessOptions): Promise<{ pid: number; exit: Promise<ExitStatus> }> {
  const mapping = o.mapping ?? chooseMapping();
  const child: ChildStep[] = [
    { op: 'waitRelease' },
    { op: 'setIds', uid: 0, gid: 0, clearGroups: canSetGroups(mapping) },
    { op: 'chdir', path: o.cwd ?? '/' },
    { op: 'stdio', fds: o.stdio ?? [-1, 1, 2] },
    { op: 'closeFds', from: 3 },
    { op: 'exec', file: o.argv[0]!, argv: o.argv, env: o.env ?? [], path: '' },
  ];
  const pid = await runPlan({ cloneFlags: CLONE.NEWUSER, middle: [], after: [...mappingSteps(mapping), { op: 'release' }], child });
  return { pid, exit: reaper.wait(pid) };
}
