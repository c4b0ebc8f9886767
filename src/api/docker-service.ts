// `nsbox system service`: the Docker Engine API on a unix socket, served by
// this process over the same state the CLI and library use.
import { join } from 'node:path';
import { NsboxError } from '../errors.js';
import { defaultDataRoot, defaultRuntimeRoot, ensureRuntimeRoot } from '../state/paths.js';

export interface DockerServiceOptions {
  /** unix:///PATH (default unix://<runtime root>/nsbox.sock, i.e. $XDG_RUNTIME_DIR/nsbox/nsbox.sock). */
  uri?: string;
  /** Exit after this many seconds without a connection or work (default 5, podman's; 0: never). */
  idleSeconds?: number;
  root?: string;
  dataRoot?: string;
  onListening?: (where: string) => void;
}

export const defaultServiceUri = (root = defaultRuntimeRoot()) => `unix://${join(root, 'nsbox.sock')}`;

/**
 * systemd socket activation: the socket as fd 3 when LISTEN_PID is this
 * process. Passed to another process (a wrapper such as npx, which runs
 * nsbox as its child), it is refused: the clients would wait on a socket
 * nobody accepts on.
 */
function inheritedSocket(env = process.env): number | undefined {
  if (env.LISTEN_FDS === undefined || Number(env.LISTEN_FDS) < 1) return undefined;
  if (env.LISTEN_PID !== undefined && Number(env.LISTEN_PID) !== process.pid)
    throw new NsboxError(
      'INVALID_ARGUMENT',
      `systemd passed its socket (LISTEN_FDS) to process ${env.LISTEN_PID}, not to this one (${process.pid}): the service was started through a wrapper such as npx`,
      'give ExecStart the nsbox executable itself (`command -v nsbox`, or the project\'s node_modules/.bin/nsbox)',
    );
  return Number(env.LISTEN_PID) === process.pid ? 3 : undefined;
}

/** Serves until idle (or closed); resolves with the server and a promise of its end. */
export async function serveDockerApi(opts: DockerServiceOptions = {}) {
  const root = ensureRuntimeRoot(opts.root ?? defaultRuntimeRoot());
  const { serve } = await import('./docker/server.js');
  const { readFileSync } = await import('node:fs');
  const { artifacts } = await import('../native/artifacts.js');
  let nsboxVersion = '';
  try {
    nsboxVersion = (JSON.parse(readFileSync(join(artifacts.packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    // the version is only shown
  }
  const inheritedFd = opts.uri === undefined ? inheritedSocket() : undefined;
  return serve({ root, dataRoot: opts.dataRoot ?? defaultDataRoot(), uri: opts.uri ?? defaultServiceUri(root), idleSeconds: opts.idleSeconds ?? 5, inheritedFd, nsboxVersion, onListening: opts.onListening });
}
