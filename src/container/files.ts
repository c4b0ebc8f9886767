// A container's directory: its record, log, /etc files and rootfs dirs.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { statePaths } from '../state/paths.js';

export function containersDir(root: string, podId: string): string {
  return join(statePaths.podDir(root, podId), 'containers');
}

export function containerPaths(root: string, podId: string, name: string) {
  // One join: the rest are fixed names under an already normal directory (a listing builds these for every container).
  const dir = join(containersDir(root, podId), name);
  return {
    dir,
    record: `${dir}/container.json`,
    status: `${dir}/state.json`,
    log: `${dir}/log.jsonl`,
    hosts: `${dir}/hosts`,
    resolvConf: `${dir}/resolv.conf`,
    hostname: `${dir}/hostname`,
    mountPoint: `${dir}/rootfs`,
    upper: `${dir}/upper`,
    work: `${dir}/work`,
    copy: `${dir}/copy`,
    seccomp: `${dir}/seccomp.bpf`,
  };
}

export type ContainerPaths = ReturnType<typeof containerPaths>;

function hostResolvConf(): string {
  try {
    const text = readFileSync('/etc/resolv.conf', 'utf8');
    // A loopback resolver (systemd-resolved) is not reachable from the pod's network.
    return text.replace(/^nameserver\s+127\.\S+\s*$/gm, '').trim() + '\n';
  } catch {
    return '';
  }
}

/** A container's /etc/hosts before the lines of its pod's user networks. */
export function baseHosts(hostname: string): string {
  return `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${hostname}\n`;
}

/** The pod's user-network members (pods/ID/network-hosts, kept current by src/network), then its own extra entries (pods/ID/extra-hosts: kube play's hostAliases). */
function networkHosts(p: ContainerPaths): string {
  const read = (file: string) => {
    try {
      return readFileSync(join(p.dir, '..', '..', file), 'utf8');
    } catch {
      return '';
    }
  };
  return read('network-hosts') + read('extra-hosts');
}

/** Writes the files bound into the container; the dirs overlay needs; its seccomp program. */
export function prepareContainerDir(p: ContainerPaths, hostname: string, seccompProgram?: Buffer | null): void {
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  for (const d of [p.mountPoint, p.upper, p.work]) mkdirSync(d, { recursive: true, mode: 0o755 });
  writeFileSync(p.hosts, baseHosts(hostname) + networkHosts(p), { mode: 0o644 });
  writeFileSync(p.resolvConf, hostResolvConf(), { mode: 0o644 });
  writeFileSync(p.hostname, `${hostname}\n`, { mode: 0o644 });
  if (seccompProgram) writeFileSync(p.seccomp, seccompProgram, { mode: 0o600 });
}
