// A detached pod's supervisor that cannot bring the pod's network up (pasta
// failed) leaves the reason here before it takes the pod down, so that the
// `pod create` waiting for it can report it.
import { join } from 'node:path';
import { NsboxError } from '../errors.js';
import { readJson, writeJsonAtomic } from '../state/atomic.js';
import { statePaths } from '../state/paths.js';

const file = (root: string, id: string) => join(statePaths.podDir(root, id), 'network-error.json');

export function writeNetworkError(root: string, id: string, err: unknown): void {
  const e = err as { code?: string; message?: string; hint?: string };
  writeJsonAtomic(file(root, id), { code: e.code ?? 'NETWORK_FAILED', message: e.message ?? String(err), hint: e.hint });
}

export function readNetworkError(root: string, id: string): NsboxError | null {
  const e = readJson<{ code: string; message: string; hint?: string }>(file(root, id));
  return e ? new NsboxError(e.code, e.message, e.hint) : null;
}
