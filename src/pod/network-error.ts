// Why a pod went down without being asked to: its network could not be
// brought up or kept up (pasta, the forwarder), or its keeper failed.
// The keeper leaves the reason in the pod's directory before it takes
// the pod down, so that the `pod create` waiting for it, `pod ls` and
// `pod inspect` can report it.
import { join } from 'node:path';
import { NsboxError } from '../errors.js';
import { lastLogLine, pastaError, pastaFiles } from '../net/pasta.js';
import { readJson, writeRuntimeJson } from '../state/atomic.js';
import { statePaths } from '../state/paths.js';

const file = (root: string, id: string) => join(statePaths.podDir(root, id), 'network-error.json');
const supervisorFile = (root: string, id: string) => join(statePaths.podDir(root, id), 'supervisor-error.json');

export function writeNetworkError(root: string, id: string, err: unknown): void {
  const e = err as { code?: string; message?: string; hint?: string };
  writeRuntimeJson(file(root, id), { code: e.code ?? 'NETWORK_FAILED', message: e.message ?? String(err), hint: e.hint });
}

/** What went wrong; for pasta, which the keeper could not start again, pasta's own last words. */
export function readNetworkError(root: string, id: string): NsboxError | null {
  const e = readJson<{ code: string; message: string; hint?: string; server?: string }>(file(root, id));
  if (!e) return null;
  if (e.server === 'pasta') return pastaError(lastLogLine(pastaFiles(statePaths.podDir(root, id)).logFile));
  return new NsboxError(e.code, e.message, e.hint);
}

/** Why the pod went down on its own, if it did: its network, or its keeper (supervisor-error.json). */
export function readPodFailure(root: string, id: string): string | null {
  const net = readNetworkError(root, id);
  if (net) return net.message;
  return readJson<{ message: string }>(supervisorFile(root, id))?.message ?? null;
}
