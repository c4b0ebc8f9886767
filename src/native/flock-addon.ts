// flock(2) from nsbox-flock.node (native-shims/flock-addon.c), a Node-API
// addon of one function: loading it costs a fraction of a millisecond where
// ffi-rs costs ~4 ms, so a CLI call that only takes the state lock loads no
// FFI. It never waits: it takes LOCK_NB requests and LOCK_UN only.
import { createRequire } from 'node:module';
import { artifacts } from './artifacts.js';

export interface FlockAddon {
  flock(fd: number, op: number): number;
}

/** Loads the addon at `path`; throws what went wrong (nsbox check reports it). */
export function loadFlockAddon(path: string): FlockAddon {
  const addon = createRequire(import.meta.url)(path) as Partial<FlockAddon>;
  if (typeof addon.flock !== 'function') throw new Error(`${path} has no flock function`);
  return addon as FlockAddon;
}

let addon: FlockAddon | null | undefined;

function load(): FlockAddon | null {
  try {
    return loadFlockAddon(artifacts.flockAddon);
  } catch {
    return null; // a build without it: ffi-rs does it all
  }
}

/** flock(fd, op) with op LOCK_UN or including LOCK_NB: 0 or -errno; null when the addon is not there. */
export function flockNow(fd: number, op: number): number | null {
  addon ??= load();
  return addon ? addon.flock(fd, op) : null;
}
