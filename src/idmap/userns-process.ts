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
  /** Also a mount namespace of its own (e.g. to mount an overlay nobody else sees). */
  ownMountNamespace?: boolean;
  /** Steps run as root of the namespace before the command (mounts). */
  setup?: ChildStep[];
  /** fds of this process the command gets as 3, 4, … */
  passFds?: number[];
}

/** Starts the command; resolves to its pid (our child) and its exit. */
export async function spawnInUserns(o: UsernsProcessOptions): Promise<{ pid: number; exit: Promise<ExitStatus> }> {
  const mapping = o.mapping ?? chooseMapping();
  const pass = o.passFds ?? [];
  // A source among the targets 3.. would be overwritten by an earlier move.
  if (pass.some((fd, i) => fd !== 3 + i && fd >= 3 && fd < 3 + pass.length)) throw new Error(`passFds ${pass.join(',')} overlap their targets 3..${2 + pass.length}`);
  const child: ChildStep[] = [
    { op: 'waitRelease' },
    { op: 'setIds', uid: 0, gid: 0, clearGroups: canSetGroups(mapping) },
    ...(o.setup ?? []),
    { op: 'chdir', path: o.cwd ?? '/' },
    { op: 'stdio', fds: o.stdio ?? [-1, 1, 2] },
    // After stdio, so that moving them to 3.. cannot clobber a stdio source.
    ...pass.map((from, i): ChildStep => ({ op: 'keepFd', from, to: 3 + i })),
    { op: 'closeFds', from: 3 + pass.length },
    { op: 'exec', file: o.argv[0]!, argv: o.argv, env: o.env ?? [], path: '' },
  ];
  const cloneFlags = CLONE.NEWUSER | (o.ownMountNamespace ? CLONE.NEWNS : 0);
  const pid = await runPlan({ cloneFlags, middle: [], after: [...mappingSteps(mapping), { op: 'release' }], child });
  return { pid, exit: reaper.wait(pid) };
}
