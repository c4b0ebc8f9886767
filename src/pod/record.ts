// The persisted description of a pod (pods/<id>/pod.json) and the status
// derived from it by checking the recorded processes against /proc.
import type { IdMapping } from '../idmap/mapping.js';
import type { PortMapping } from '../net/ports.js';
import { isAlive, type ProcIdentity } from '../process/proc-stat.js';
import { reducePodState, type PodState } from '../core/lifecycle.js';

export interface PodRecord {
  id: string;
  name: string;
  hostname: string;
  createdAt: string;
  mapping: IdMapping['kind'];
  pause: ProcIdentity;
  supervisor: ProcIdentity & {
    /** library: the creating process supervises; detached: an nsbox supervisor process. */
    mode: 'library' | 'detached';
  };
  /** Set once the pod was stopped on purpose, with the time. */
  stoppedAt?: string;
  /** Removed automatically when its supervisor is gone (library pods). */
  autoRemove: boolean;
  /** Published ports (-p), served by the builtin forwarder or pasta; those published on the running pod follow. */
  ports?: PortMapping[];
  /** How many of `ports` its keeper was started with (as fds 4, 5, ...; absent in older records: all of them). */
  keeperListeners?: number;
  /** How the pod reaches the outside (absent in records older than this field: builtin). */
  network?: NetworkMode;
  /** --label KEY=VALUE (absent: none). */
  labels?: Record<string, string>;
  /** The container this pod was made for by `run` without `--pod` (it goes when that container is removed). */
  ownedBy?: string;
  /** copy: its containers run from a copy of the image, not overlayfs (NSBOX_ROOTFS=copy when it was made). */
  rootfs?: 'copy';
  /** User networks the pod is on (absent: none), by name. */
  networks?: Record<string, PodNetwork>;
  /** The shared network user namespace (its /proc/PID/ns/user link) this pod's user namespace is nested in (only such pods join networks). */
  nestedIn?: string;
}

export interface PodNetwork {
  networkId: string;
  ip: string;
  prefix: number;
  gateway: string;
  aliases: string[];
  /** eth0, eth1, ... in the pod, and the veth's other end on the bridge. */
  interface: string;
  hostVeth: string;
}

export type NetworkMode = 'builtin' | 'pasta' | 'none';

export type PodStatus = PodState;

/**
 * running: pause and supervisor alive; degraded: the pause lives but nobody
 * supervises it; exited: the pause is gone.
 */
export function podStatus(r: PodRecord): PodStatus {
  return reducePodState({ pauseAlive: isAlive(r.pause), keeperAlive: isAlive(r.supervisor) });
}

/** Podman's rule for names. */
export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
export const MAX_NAME_LENGTH = 63;
