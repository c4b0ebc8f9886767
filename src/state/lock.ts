// One flock per state root serialises the CLI calls and library calls that
// change state (create, remove). The kernel drops it if we die.
import { closeSync, openSync } from 'node:fs';
import { SyscallError } from '../errors.js';
import { flock, flockAsync, LOCK_EX, LOCK_NB, LOCK_UN } from '../native/ffi.js';
import { flockNow } from '../native/flock-addon.js';
import { statePaths } from './paths.js';
import { Errno } from '../core/errno.js';

export async function withStateLock<T>(root: string, fn: () => Promise<T> | T): Promise<T> {
  return withFileLock(statePaths.lock(root), fn);
}

/** An exclusive flock on `path` (created if missing) while `fn` runs. */
export async function withFileLock<T>(path: string, fn: () => Promise<T> | T): Promise<T> {
  const fd = openSync(path, 'a', 0o600);
  try {
    // A free lock (the usual case) is taken at once, without ffi-rs; a held one is waited for in ffi-rs's thread.
    const now = flockNow(fd, LOCK_EX | LOCK_NB);
    const held = now === -Errno.EAGAIN; // EWOULDBLOCK
    const rc = now === 0 ? 0 : now !== null && !held ? now : await flockAsync(fd, LOCK_EX);
    if (rc < 0) throw new SyscallError(`flock ${path}`, -rc);
    try {
      return await fn();
    } finally {
      unlock(fd);
    }
  } finally {
    closeSync(fd);
  }
}

/** LOCK_UN through the addon, or ffi-rs without it. */
function unlock(fd: number): void {
  if (flockNow(fd, LOCK_UN) === null) flock(fd, LOCK_UN);
}

/**
 * Runs `fn` under the state lock only if nobody holds it now (readers such
 * as `pod ls` tidy up this way without ever waiting); false if it was held.
 */
export function ifStateLockFree(root: string, fn: () => void): boolean {
  let fd: number;
  try {
    fd = openSync(statePaths.lock(root), 'a', 0o600);
  } catch {
    return false; // no state root yet: nothing to tidy
  }
  try {
    if ((flockNow(fd, LOCK_EX | LOCK_NB) ?? flock(fd, LOCK_EX | LOCK_NB)) < 0) return false;
    try {
      fn();
      return true;
    } finally {
      unlock(fd);
    }
  } finally {
    closeSync(fd);
  }
}
