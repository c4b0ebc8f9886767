// Holds a pod's keeper still (SIGSTOP) as soon as it appears, so a test can
// change the world at a known point of `pod create`: after nsbox's own
// checks, before the keeper acts (it waits for its creator's `init` first);
// the caller checks that the hold came in time by what it then sees (e.g. a
// port still free).
import { readdirSync, readFileSync } from 'node:fs';

/** The supervisor of a pod under `root` that is not in `known`, once there is one. */
function newSupervisor(root: string, known: Set<number>): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || known.has(Number(entry))) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.endsWith('nsbox-keeper') && argv[1]?.startsWith(`${root}/pods/`)) return Number(entry);
    } catch {
      // exited meanwhile
    }
  }
  return null;
}

/** Supervisors of pods under `root` running now (so that only a new one is held). */
export function supervisorsOf(root: string): Set<number> {
  const known = new Set<number>();
  for (let pid = newSupervisor(root, known); pid !== null; pid = newSupervisor(root, known)) known.add(pid);
  return known;
}

/** Stops the first new supervisor of a pod under `root` the moment it shows up; resolves with its pid. */
export async function holdNewSupervisor(root: string, known: Set<number>, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pid = newSupervisor(root, known);
    if (pid !== null) {
      process.kill(pid, 'SIGSTOP');
      return pid;
    }
    if (Date.now() > deadline) throw new Error(`no new supervisor under ${root} within ${timeoutMs} ms`);
    await new Promise((r) => setImmediate(r));
  }
}

export function releaseSupervisor(pid: number): void {
  try {
    process.kill(pid, 'SIGCONT');
  } catch {
    // gone already
  }
}
