// Turns "run this image (or tarball) with these options" into the resolved
// request the pod's supervisor executes.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NsboxError } from '../errors.js';
import type { RunRequest } from './manager.js';
import { parseRestartPolicy, parseUser, resolveCommand, validateContainerName, type RunOptions } from './spec.js';
import { DEFAULT_PATH } from '../pod/plans.js';
import { buildEnv } from '../pod/exec.js';

export interface ImageForRun {
  dataRoot: string;
  id: string;
  name: string | null;
  layers: string[];
  layerDirs: string[];
  config: { entrypoint?: string[]; cmd?: string[]; env?: string[]; workingDir?: string; user?: string };
}

/** An image from the store; a path to an archive is imported first. */
export async function resolveImage(ref: string, dataRoot: string, onProgress?: (line: string) => void): Promise<ImageForRun> {
  const store = await import('../image/store.js');
  let image;
  if (ref.includes('/') && existsSync(ref) && (statSync(ref).isFile() || statSync(ref).isDirectory())) {
    const { importImage } = await import('../image/import.js');
    image = await importImage(ref, { root: dataRoot, onProgress: onProgress ? (p: { message?: string }) => p.message && onProgress(p.message) : undefined });
  } else {
    image = store.findImage(dataRoot, ref);
  }
  return {
    dataRoot,
    id: image.id,
    name: image.names[0] ?? null,
    layers: image.layers,
    layerDirs: store.layerDirs(dataRoot, image),
    config: image.config ?? {},
  };
}

/**
 * "www-data" or "nginx:nginx" as an image's config says it: looked up in the
 * image's /etc/passwd and /etc/group (the top layer that has them).
 */
export function resolveUserNames(spec: string | undefined, layerDirs: string[]): string | undefined {
  if (!spec || /^\d+(:\d+)?$/.test(spec)) return spec;
  const [user, group] = spec.split(':');
  const lookup = (file: string, name: string): string | null => {
    for (const dir of [...layerDirs].reverse()) {
      let text: string;
      try {
        text = readFileSync(join(dir, 'etc', file), 'utf8');
      } catch {
        continue;
      }
      const line = text.split('\n').find((l) => l.split(':')[0] === name);
      return line ? (line.split(':')[2] ?? null) : null;
    }
    return null;
  };
  const uid = /^\d+$/.test(user!) ? user! : lookup('passwd', user!);
  if (uid === null) throw new NsboxError('INVALID_ARGUMENT', `user ${JSON.stringify(user)} is not in the image's /etc/passwd`, 'use --user UID[:GID]');
  if (group === undefined) {
    const gid = lookup('passwd', user!) !== null ? passwdGid(layerDirs, user!) : uid;
    return `${uid}:${gid ?? uid}`;
  }
  const gid = /^\d+$/.test(group) ? group : lookup('group', group);
  if (gid === null) throw new NsboxError('INVALID_ARGUMENT', `group ${JSON.stringify(group)} is not in the image's /etc/group`, 'use --user UID[:GID]');
  return `${uid}:${gid}`;
}

function passwdGid(layerDirs: string[], user: string): string | null {
  for (const dir of [...layerDirs].reverse()) {
    try {
      const line = readFileSync(join(dir, 'etc', 'passwd'), 'utf8').split('\n').find((l) => l.split(':')[0] === user);
      if (line) return line.split(':')[3] ?? null;
    } catch {
      // not in this layer
    }
  }
  return null;
}

export function generateContainerName(): string {
  return `c-${Math.random().toString(16).slice(2, 10)}`;
}

export function buildRunRequest(image: ImageForRun, opts: RunOptions): RunRequest {
  const name = opts.name ?? generateContainerName();
  validateContainerName(name);
  const imageEnv = Object.fromEntries((image.config.env ?? [`PATH=${DEFAULT_PATH}`]).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  const env = buildEnv({ HOME: '/root', ...imageEnv }, opts.env);
  const workdir = opts.workdir ?? (image.config.workingDir || '/');
  if (!workdir.startsWith('/')) throw new NsboxError('INVALID_ARGUMENT', `invalid working directory ${JSON.stringify(workdir)}`, 'give an absolute path with -w');
  return {
    name,
    image: { id: image.id, name: image.name, layers: image.layers, layerDirs: image.layerDirs, dataRoot: image.dataRoot },
    argv: resolveCommand(image.config, opts),
    env,
    workdir,
    user: parseUser(resolveUserNames(opts.user ?? image.config.user, image.layerDirs)),
    restart: parseRestartPolicy(opts.restart),
    readOnly: !!opts.readOnly,
  };
}
