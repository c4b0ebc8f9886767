// What a manifest asks nsbox for, after translation (play-plan.ts): plain
// data that api/kube.ts executes and that tests read without running it.
import type { ProbeAction } from '../core/health.js';
import type { PreStopHook } from '../core/pre-stop.js';

export type { PreStopHook };

export interface KubeProbe {
  action: ProbeAction;
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  failureThreshold: number;
}

export type KubeMount =
  /** hostPath: `type` is Kubernetes' (Directory, DirectoryOrCreate, File, FileOrCreate, Socket, or '' for no check). */
  | { kind: 'host'; source: string; hostType: string; target: string; readOnly: boolean; subPath?: string }
  /** persistentVolumeClaim: a named volume. */
  | { kind: 'volume'; name: string; target: string; readOnly: boolean; subPath?: string }
  /** emptyDir, configMap, secret: a directory of the pod's (in its state directory). */
  | { kind: 'pod'; volume: string; target: string; readOnly: boolean; subPath?: string }
  /** emptyDir with medium Memory, used by one container. */
  | { kind: 'tmpfs'; target: string; readOnly: boolean };

export interface KubeFile {
  /** The ConfigMap's or Secret's key it holds. */
  key: string;
  /** Relative to the volume, without `..` (paths.ts). */
  path: string;
  content: Buffer;
  mode: number;
}

/** A pod-level directory: an emptyDir (no files), a configMap's or a secret's files. */
export interface PodVolume {
  name: string;
  files: KubeFile[];
  /** emptyDir: writable by every container user. */
  mode: number;
  /** The ConfigMap or Secret its files are from (absent: an emptyDir). */
  from?: { kind: 'ConfigMap' | 'Secret'; name: string };
}

export interface KubeContainer {
  name: string;
  image: string;
  pull: 'missing' | 'always' | 'never';
  /** Kubernetes' command (the image's Entrypoint) and args (its Cmd). */
  entrypoint?: string[];
  command?: string[];
  workdir?: string;
  env: Record<string, string>;
  /** The variables whose values came from ConfigMaps and Secrets. */
  envRefs: { name: string; kind: 'ConfigMap' | 'Secret'; source: string; key: string }[];
  /** "UID[:GID]" when the manifest sets runAsUser. */
  user?: string;
  runAsNonRoot: boolean;
  readOnly: boolean;
  capAdd: string[];
  capDrop: string[];
  mounts: KubeMount[];
  liveness?: KubeProbe;
  readiness?: KubeProbe;
  startup?: KubeProbe;
  /** lifecycle.preStop: run before the stop signal, within the grace period. */
  preStop?: PreStopHook;
  /** An init container with restartPolicy Always (Kubernetes' sidecar): started in its turn, then kept running. */
  sidecar?: boolean;
}

export interface KubePod {
  name: string;
  hostname: string;
  restart: 'always' | 'on-failure' | 'no';
  /** Lines for /etc/hosts (hostAliases). */
  hosts: string;
  /** "[IP:]HOST:CTR[/udp]" (ports[].hostPort and --publish). */
  publish: string[];
  podVolumes: PodVolume[];
  init: KubeContainer[];
  containers: KubeContainer[];
  graceSeconds: number;
  /** shareProcessNamespace: false gives each container a PID namespace of its own; otherwise they share the pod's. */
  sharePid: boolean;
  /** The persistentVolumeClaims it mounts (named volumes). */
  claims: string[];
}

export interface KubePlay {
  pods: KubePod[];
  /** Every PersistentVolumeClaim of the file(s): named volumes, made when missing. */
  volumes: string[];
  warnings: string[];
}
