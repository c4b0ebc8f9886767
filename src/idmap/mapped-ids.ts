// Which ids a pod maps, read from its pause's /proc/PID/{uid,gid}_map, so
// a container's user is checked against what the kernel will accept. An
// unmapped id must be an error: (uid_t)-1 means "unchanged" to setresuid,
// so 4294967295 would silently keep the setup process's root.
import { readFileSync } from 'node:fs';
import { NsboxError } from '../errors.js';

interface IdRange {
  inside: number;
  count: number;
}

function readIdMap(pid: number, kind: 'uid' | 'gid'): IdRange[] {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/${kind}_map`, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter((f) => f.length === 3 && f.every(Number.isFinite))
    .map(([inside, , count]) => ({ inside: inside!, count: count! }));
}

/** "0-65536" for the usual [0] + [1..65536] pair: adjacent ranges read as one. */
function describe(ranges: IdRange[]): string {
  const merged: IdRange[] = [];
  for (const r of [...ranges].sort((a, b) => a.inside - b.inside)) {
    const last = merged.at(-1);
    if (last && last.inside + last.count === r.inside) last.count += r.count;
    else merged.push({ ...r });
  }
  return merged.map((r) => (r.count === 1 ? `${r.inside}` : `${r.inside}-${r.inside + r.count - 1}`)).join(', ') || 'none';
}

/** Throws a one-line error unless uid and gid are mapped into the pod whose pause is `pausePid`. */
export function requireMappedIds(user: { uid: number; gid: number }, pausePid: number, podName: string): void {
  for (const [kind, id] of [
    ['uid', user.uid],
    ['gid', user.gid],
  ] as const) {
    const ranges = readIdMap(pausePid, kind);
    if (ranges.some((r) => id >= r.inside && id < r.inside + r.count)) continue;
    throw new NsboxError(
      'UNMAPPED_ID',
      `${kind} ${id} is not mapped into pod ${podName} (it maps ${kind}s ${describe(ranges)})`,
      `use --user with ids in that range${ranges.length && ranges.every((r) => r.count === 1) ? ', or give your user a range in /etc/subuid and /etc/subgid' : ''}`,
    );
  }
}
