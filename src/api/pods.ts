// The pods of a state root: list, get, inspect (the CLI and the library share these).
import { podInfo, type PodInfo } from '../pod/info.js';
import { compileFilters } from '../core/filters.js';
import { asNsboxError } from '../errors.js';
import { Pod } from './pod.js';
import type { PodRecord } from '../pod/record.js';
import { findPod, listPodRecords } from '../pod/store.js';
import { defaultDataRoot, defaultRuntimeRoot } from '../state/paths.js';

export interface RootOption {
  /** State root (default $XDG_RUNTIME_DIR/nsbox, or NSBOX_ROOT). */
  root?: string;
}

/** Every pod, except library pods whose creator is gone (the next create removes their state); `filters` as podman's --filter. */
export function listPods(opts: RootOption & { filters?: string[] } = {}): PodInfo[] {
  const root = opts.root ?? defaultRuntimeRoot();
  const matches = asNsboxError(() => compileFilters(opts.filters));
  return listPodRecords(root)
    .map((r) => podInfo(r, root))
    .filter((p) => p.status !== 'exited' || !isAbandoned(p))
    .filter(matches);
}

function isAbandoned(p: PodInfo): boolean {
  return p.supervisor === 'library';
}

/** A handle on an existing pod, by name or id. */
export function getPod(ref: string, opts: RootOption = {}): Pod {
  const root = opts.root ?? defaultRuntimeRoot();
  const pod = new Pod(root, findPod(root, ref));
  pod.dataRoot = opts.root ?? defaultDataRoot();
  return pod;
}

export interface PodInspection extends PodInfo {
  record: PodRecord;
}

export function inspectPod(ref: string, opts: RootOption = {}): PodInspection {
  const root = opts.root ?? defaultRuntimeRoot();
  const record = findPod(root, ref);
  return { ...podInfo(record, root), record };
}

/** A pod as `pod ls --format json` prints it: podman's field names (Id, Name, Status, …) beside nsbox's own. */
export function podListEntry(p: PodInfo) {
  return {
    Id: p.id,
    Name: p.name,
    Status: p.status[0]!.toUpperCase() + p.status.slice(1),
    Created: p.createdAt,
    Labels: p.labels,
    NumberOfContainers: p.containers,
    ...p,
  };
}
