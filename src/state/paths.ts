// Where runtime state lives: $XDG_RUNTIME_DIR/nsbox, else
// /tmp/nsbox-<uid>; one override (--root / NSBOX_ROOT) for tests.
import { lstatSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { NsboxError } from '../errors.js';

export function defaultRuntimeRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NSBOX_ROOT) return env.NSBOX_ROOT;
  const uid = process.getuid?.() ?? 0;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'nsbox');
  return `/tmp/nsbox-${uid}`;
}

/**
 * Where images live: $XDG_DATA_HOME/nsbox, else
 * ~/.local/share/nsbox. NSBOX_ROOT (and --root) put everything in one place.
 */
export function defaultDataRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NSBOX_ROOT) return env.NSBOX_ROOT;
  if (env.XDG_DATA_HOME) return join(env.XDG_DATA_HOME, 'nsbox');
  return join(env.HOME || homedir(), '.local', 'share', 'nsbox');
}

/** Creates the root if needed and refuses one that another user could tamper with. */
export function ensureRuntimeRoot(root: string): string {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const st = lstatSync(root);
  const uid = process.getuid?.() ?? 0;
  if (!st.isDirectory())
    throw new NsboxError('STATE_DIR', `state directory ${root} is not a directory`, 'remove it or choose another with --root');
  if (st.uid !== uid)
    throw new NsboxError('STATE_DIR', `state directory ${root} belongs to uid ${st.uid}, not ${uid}`, 'set XDG_RUNTIME_DIR for this user or pass --root DIR');
  if ((st.mode & 0o077) !== 0)
    throw new NsboxError('STATE_DIR', `state directory ${root} is accessible to other users (mode ${(st.mode & 0o777).toString(8)})`, `chmod 700 ${root}`);
  mkdirSync(join(root, 'pods'), { recursive: true, mode: 0o700 });
  return root;
}

export const statePaths = {
  lock: (root: string) => join(root, 'lock'),
  pods: (root: string) => join(root, 'pods'),
  podDir: (root: string, id: string) => join(root, 'pods', id),
  podRecord: (root: string, id: string) => join(root, 'pods', id, 'pod.json'),
  podSocket: (root: string, id: string) => join(root, 'pods', id, 'keeper.sock'),
  /** services/PID.json: a running `system service` (its pid, start time and socket), so that it can be found. */
  serviceRecord: (root: string, pid: number) => join(root, 'services', `${pid}.json`),
  /** names/NAME: a symlink to the pod's id, so a lookup by name reads one record, not all. */
  podName: (root: string, name: string) => join(root, 'names', name),
};
