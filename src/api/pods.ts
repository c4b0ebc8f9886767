// The pods of a state root: list, get, inspect (the CLI and the library share these).
import { podInfo, type PodInfo } from '../pod/info.js';
import { compileFilters } from '../core/filters.js';
import { asNsboxError } from '../errors.js';
import { Pod } from './pod.js';
import type { PodRecord } from '../pod/record.js';
import { findPod, listPodRecords } from '../pod/store.js';
import { listContainerRecords } from '../container/list.js';
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
  /** podman's pod inspect fields, beside nsbox's own. */
  Id: string;
  Name: string;
  Created: string;
  State: string;
  Hostname: string;
  Labels: Record<string, string>;
  CreateInfra: boolean;
  NumContainers: number;
  Containers: { Id: string; Name: string; State: string }[];
  SharedNamespaces: string[];
  InfraConfig: { PortBindings: Record<string, { HostIp: string; HostPort: string }[]>; NetworkOptions: { mode: string }; Networks: string[] };
  /** Its user networks, as podman's infra container shows them (NetworkSettings.Networks). */
  NetworkSettings: { Networks: Record<string, { NetworkID: string; IPAddress: string; IPPrefixLen: number; Gateway: string; Aliases: string[]; InterfaceName: string }> };
}

const capitalized = (s: string) => s[0]!.toUpperCase() + s.slice(1);

export function inspectPod(ref: string, opts: RootOption = {}): PodInspection {
  const root = opts.root ?? defaultRuntimeRoot();
  const record = findPod(root, ref);
  const info = podInfo(record, root);
  const containers = listContainerRecords(root, record.id).map((c) => ({ Id: c.id, Name: c.name, State: c.state }));
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of record.ports ?? []) (bindings[`${p.podPort}/${p.protocol}`] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
  return {
    Id: record.id,
    Name: record.name,
    Created: record.createdAt,
    State: capitalized(info.status),
    Hostname: record.hostname,
    Labels: record.labels ?? {},
    // The pause is nsbox's infra process (not a container of the pod's).
    CreateInfra: true,
    NumContainers: containers.length,
    Containers: containers,
    SharedNamespaces: ['ipc', 'net', 'pid', 'user', 'uts'],
    InfraConfig: { PortBindings: bindings, NetworkOptions: { mode: record.network ?? 'builtin' }, Networks: Object.keys(record.networks ?? {}) },
    NetworkSettings: {
      Networks: Object.fromEntries(
        Object.entries(record.networks ?? {}).map(([name, n]) => [name, { NetworkID: n.networkId, IPAddress: n.ip, IPPrefixLen: n.prefix, Gateway: n.gateway, Aliases: n.aliases, InterfaceName: n.interface }]),
      ),
    },
    ...info,
    record,
  };
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
