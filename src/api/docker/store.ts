// The Docker view of containers made through the API: docker's id and name,
// what `start` will run (docker creates before it starts; nsbox runs at
// once), and which nsbox pod and container it became. One JSON file per
// container under <runtime root>/docker/containers, written atomically
// under the state lock; the nsbox records stay the truth for everything
// that runs.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, writeJsonAtomic } from '../../state/atomic.js';
import type { RunOptions } from '../../container/spec.js';
import { compareText } from '../../core/order.js';

export const DOCKER_RECORD_VERSION = 1;

export interface DockerContainer {
  version: typeof DOCKER_RECORD_VERSION;
  Id: string;
  /** Without docker's leading slash. */
  Name: string;
  Created: string;
  /** A pause image's container is the pod itself: nsbox's own pause holds it. */
  kind: 'container' | 'pause';
  /** The nsbox pod it runs in (its own, named after it, or the one it joined). */
  pod: string;
  /** Whether the pod is its own (made at start, removed with it). */
  ownPod: boolean;
  /** The nsbox container name within the pod (absent for a pause). */
  container?: string;
  image: string;
  options: RunOptions;
  publish: string[];
  /** builtin, none, or a user network's name (with the aliases asked for on it). */
  network: string;
  networkAliases?: string[];
  /** ExtraHosts for its own pod's /etc/hosts. */
  addHosts?: string[];
  autoRemove: boolean;
  stopTimeout?: number;
  /** The create request's Config and HostConfig, echoed by inspect. */
  config: Record<string, unknown>;
  hostConfig: Record<string, unknown>;
  started: boolean;
  /** Its pod and nsbox container exist, created and not started (files were copied in before its start). */
  made?: boolean;
}

const dirOf = (root: string) => join(root, 'docker', 'containers');

export function listDockerContainers(root: string): DockerContainer[] {
  let names: string[];
  try {
    names = readdirSync(dirOf(root));
  } catch {
    return [];
  }
  const out: DockerContainer[] = [];
  for (const n of names) {
    if (!n.endsWith('.json')) continue;
    const r = readJson<DockerContainer>(join(dirOf(root), n));
    // A record of another version, or cut short, is not ours to read.
    if (r && r.version === DOCKER_RECORD_VERSION && typeof r.Id === 'string') out.push(r);
  }
  return out.sort((a, b) => compareText(a.Created, b.Created));
}

export function writeDockerContainer(root: string, r: DockerContainer): void {
  mkdirSync(dirOf(root), { recursive: true, mode: 0o700 });
  writeJsonAtomic(join(dirOf(root), `${r.Id}.json`), r);
}

export function removeDockerContainer(root: string, id: string): void {
  rmSync(join(dirOf(root), `${id}.json`), { force: true });
}

/** By full id, unique id prefix, or name (docker's leading slash allowed). */
export function findDockerContainer(root: string, ref: string): DockerContainer | null {
  const name = ref.replace(/^\//, '');
  const all = listDockerContainers(root);
  const exact = all.find((r) => r.Id === ref || r.Name === name);
  if (exact) return exact;
  const byPrefix = /^[0-9a-f]{3,}$/.test(ref) ? all.filter((r) => r.Id.startsWith(ref)) : [];
  return byPrefix.length === 1 ? byPrefix[0]! : null;
}

/** docker's name of an nsbox container: NAME in a pod of its own, else POD_NAME (docker reads a slash in a name as a link). */
export const dockerName = (r: { podName: string; name: string }) => (r.podName === r.name ? r.name : `${r.podName}_${r.name}`);
