// The image verbs of the library API (src/index.ts exports these).
import { resolve } from 'node:path';
import { defaultDataRoot } from '../state/paths.js';
import type { ImageRecord } from './record.js';
import { findImage, layerDirs, listImageRecords } from './store.js';

export interface ImageRootOption {
  /** Data root (default $XDG_DATA_HOME/nsbox, or NSBOX_ROOT). */
  root?: string;
}

export interface ImageInspection extends ImageRecord {
  /** The extracted layers on disk, bottom layer first. */
  layerDirs: string[];
  /** podman's image inspect fields, beside nsbox's own. */
  Id: string;
  RepoTags: string[];
  Created: string;
  Size: number;
  Architecture: string;
  Os: string;
  Labels: Record<string, string>;
  Config: Record<string, unknown>;
  RootFS: { Type: 'layers'; Layers: string[] };
}

/** The image's config with docker's names. */
function dockerConfig(c: ImageRecord['config']): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (c.cmd) out.Cmd = c.cmd;
  if (c.entrypoint) out.Entrypoint = c.entrypoint;
  if (c.env) out.Env = c.env;
  if (c.workingDir) out.WorkingDir = c.workingDir;
  if (c.user) out.User = c.user;
  if (c.exposedPorts) out.ExposedPorts = Object.fromEntries(c.exposedPorts.map((p) => [p, {}]));
  if (c.labels) out.Labels = c.labels;
  if (c.stopSignal) out.StopSignal = c.stopSignal;
  if (c.healthcheck) {
    const ns = (ms: number | undefined) => (ms === undefined ? undefined : ms * 1e6);
    out.Healthcheck = { Test: c.healthcheck.test, Interval: ns(c.healthcheck.intervalMs), Timeout: ns(c.healthcheck.timeoutMs), StartPeriod: ns(c.healthcheck.startPeriodMs), Retries: c.healthcheck.retries };
  }
  return out;
}

/** Every image in the store, newest import first. */
export function listImages(opts: ImageRootOption = {}): ImageRecord[] {
  return listImageRecords(resolve(opts.root ?? defaultDataRoot()));
}

/** One image by NAME[:TAG], id or unique id prefix. */
export function inspectImage(ref: string, opts: ImageRootOption = {}): ImageInspection {
  const root = resolve(opts.root ?? defaultDataRoot());
  const image = findImage(root, ref);
  const config = image.config ?? {};
  return {
    Id: image.id,
    RepoTags: image.names,
    Created: image.createdAt,
    Size: image.size ?? 0,
    Architecture: image.architecture ?? '',
    Os: image.os ?? 'linux',
    Labels: config.labels ?? {},
    Config: dockerConfig(config),
    RootFS: { Type: 'layers', Layers: image.layers },
    ...image,
    layerDirs: layerDirs(root, image),
  };
}
