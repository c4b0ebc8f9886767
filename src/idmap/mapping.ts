// Chooses how the pod's user namespace maps ids:
//   root:     identity mapping of every id, written directly;
//   full:     the caller's id as 0 plus the /etc/subuid range as 1..N, via
//             newuidmap/newgidmap (package uidmap): images that switch users work;
//   single:   only the caller's id as 0, written directly; a warning, since
//             images whose processes switch users (nginx workers) fail.
import { accessSync, constants } from 'node:fs';
import { userInfo } from 'node:os';
import { CHILD_PID, type AfterStep } from '../native/plan.js';
import { readSubidRange, type IdRange } from './subid.js';

export type IdMapping =
  | { kind: 'root' }
  | { kind: 'full'; uid: number; gid: number; subuid: IdRange; subgid: IdRange; newuidmap: string; newgidmap: string }
  | { kind: 'single'; uid: number; gid: number; reason: string };

export interface MappingEnv {
  uid: number;
  gid: number;
  user: string;
  subuidFile?: string;
  subgidFile?: string;
  searchPath?: string;
}

export function findExecutable(name: string, searchPath = process.env.PATH ?? ''): string | null {
  const dirs = [...searchPath.split(':').filter(Boolean), '/usr/bin', '/usr/sbin', '/bin', '/sbin'];
  for (const dir of dirs) {
    const p = `${dir}/${name}`;
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return null;
}

export function currentMappingEnv(): MappingEnv {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  let user = String(uid);
  try {
    user = userInfo().username;
  } catch {
    // a uid without a passwd entry: match /etc/subuid by number only
  }
  return { uid, gid, user };
}

export function chooseMapping(env: MappingEnv = currentMappingEnv()): IdMapping {
  if (env.uid === 0) return { kind: 'root' };
  const subuid = readSubidRange(env.subuidFile ?? '/etc/subuid', env.user, env.uid);
  const subgid = readSubidRange(env.subgidFile ?? '/etc/subgid', env.user, env.uid);
  const newuidmap = findExecutable('newuidmap', env.searchPath);
  const newgidmap = findExecutable('newgidmap', env.searchPath);
  const single = (reason: string): IdMapping => ({ kind: 'single', uid: env.uid, gid: env.gid, reason });
  if (!subuid || !subgid) return single(`user ${env.user} has no range in /etc/subuid or /etc/subgid (add one: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${env.user})`);
  if (!newuidmap || !newgidmap) return single('newuidmap/newgidmap not found (install the Debian package uidmap)');
  return { kind: 'full', uid: env.uid, gid: env.gid, subuid, subgid, newuidmap, newgidmap };
}

export function mappingWarning(m: IdMapping): string | null {
  if (m.kind !== 'single') return null;
  return `only uid ${m.uid} is mapped into the pod (${m.reason}); images that switch users, such as nginx, will fail`;
}

/** The steps the middle process runs to write the final process's id maps. */
export function mappingSteps(m: IdMapping): AfterStep[] {
  switch (m.kind) {
    case 'root':
      return [
        { op: 'writeProc', file: 'uid_map', content: '0 0 4294967295\n' },
        { op: 'writeProc', file: 'gid_map', content: '0 0 4294967295\n' },
      ];
    case 'full':
      return [
        { op: 'run', argv: [m.newuidmap, CHILD_PID, '0', String(m.uid), '1', '1', String(m.subuid.start), String(m.subuid.count)] },
        { op: 'run', argv: [m.newgidmap, CHILD_PID, '0', String(m.gid), '1', '1', String(m.subgid.start), String(m.subgid.count)] },
      ];
    case 'single':
      return [
        { op: 'writeProc', file: 'setgroups', content: 'deny\n' },
        { op: 'writeProc', file: 'uid_map', content: `0 ${m.uid} 1\n` },
        { op: 'writeProc', file: 'gid_map', content: `0 ${m.gid} 1\n` },
      ];
  }
}

/** setgroups(2) is allowed inside unless setgroups was denied for a single map. */
export function canSetGroups(m: IdMapping): boolean {
  return m.kind !== 'single';
}

/** The id inside the pod's user namespace of a host uid or gid; null when the mapping does not cover it. */
export function containerIdOf(m: IdMapping, hostId: number, which: 'uid' | 'gid'): number | null {
  if (m.kind === 'root') return hostId;
  const own = which === 'uid' ? m.uid : m.gid;
  if (hostId === own) return 0;
  if (m.kind === 'single') return null;
  const range = which === 'uid' ? m.subuid : m.subgid;
  return hostId >= range.start && hostId < range.start + range.count ? 1 + hostId - range.start : null;
}
