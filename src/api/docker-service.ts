// `nsbox system service`: the Docker Engine API on a unix socket, served by
// this process over the same state the CLI and library use.
import { join } from 'node:path';
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

/** systemd socket activation: the socket as fd 3 when LISTEN_PID is this process. */
function inheritedSocket(env = process.env): number | undefined {
  if (env.LISTEN_FDS === undefined) return undefined;
  if (Number(env.LISTEN_PID) !== process.pid || Number(env.LISTEN_FDS) < 1) return undefined;
  return 3;
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
