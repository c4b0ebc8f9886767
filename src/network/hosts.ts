// Name resolution on user networks: each member pod's containers get
// /etc/hosts lines for every member of the pod's networks (pod name,
// container names, aliases). Rewritten in place (same inode), so the files
// bound into running containers change with them.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseHosts, containersDir } from '../container/files.js';
import type { PodRecord } from '../pod/record.js';
import { listPodRecords } from '../pod/store.js';
import { statePaths } from '../state/paths.js';

function containerNames(root: string, podId: string): string[] {
  try {
    return readdirSync(containersDir(root, podId), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
}

/** The lines a pod's containers get: one per member of each of its networks, itself included. */
export function networkHostLines(pod: PodRecord, all: PodRecord[], namesOf: (p: PodRecord) => string[]): string {
  const lines: string[] = [];
  for (const net of Object.keys(pod.networks ?? {})) {
    for (const m of all) {
      const on = m.networks?.[net];
      if (!on) continue;
      const names = [...new Set([m.name, ...namesOf(m), ...on.aliases])];
      lines.push(`${on.ip}\t${names.join(' ')}\t# nsbox network ${net}`);
    }
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}

/** Rewrites the hosts lines of every pod on one of these networks (and of `also`, which just left). */
export function refreshNetworkHosts(root: string, networks: string[], also: PodRecord[] = []): void {
  const all = listPodRecords(root);
  const affected = new Map<string, PodRecord>();
  for (const p of [...all, ...also]) if (also.includes(p) || networks.some((n) => p.networks?.[n])) affected.set(p.id, all.find((a) => a.id === p.id) ?? p);
  const namesOf = (p: PodRecord) => containerNames(root, p.id);
  for (const pod of affected.values()) {
    const lines = networkHostLines(pod, all, namesOf);
    const podDir = statePaths.podDir(root, pod.id);
    try {
      writeFileSync(join(podDir, 'network-hosts'), lines, { mode: 0o644 });
    } catch {
      continue; // the pod is being removed
    }
    for (const c of namesOf(pod)) {
      try {
        writeFileSync(join(containersDir(root, pod.id), c, 'hosts'), baseHosts(pod.hostname) + lines);
      } catch {
        // a container being removed
      }
    }
  }
}
