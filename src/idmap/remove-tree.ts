// Removes a directory tree that may hold files owned by subordinate ids
// (written by containers or unpacked from images): the host user cannot
// delete those, but root of a user namespace with the same mapping can.
import { rmSync } from 'node:fs';
import { NsboxError } from '../errors.js';
import { spawnInUserns } from './userns-process.js';

export async function removeTreeAsOwner(dir: string): Promise<void> {
  try {
    rmSync(dir, { recursive: true, force: true });
    return;
  } catch {
    // Files of subordinate ids (EACCES, EPERM), or a tree deeper than
    // rmSync's recursion goes (a container's 3000-level tree overflows its
    // stack): rm -rf walks any depth, as the owner of every file.
  }
  const { exit } = await spawnInUserns({ argv: ['/bin/rm', '-rf', '--', dir], env: ['PATH=/usr/bin:/bin'] });
  const status = await exit;
  if (status.code !== 0) throw new NsboxError('REMOVE_FAILED', `cannot remove ${dir} (rm exited with ${status.code ?? `signal ${status.signal}`})`, 'check that the ranges in /etc/subuid and /etc/subgid are the ones the files were written with');
  rmSync(dir, { recursive: true, force: true });
}
