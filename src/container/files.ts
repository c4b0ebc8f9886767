// A container's directory: its record, log, /etc files and rootfs dirs.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { statePaths } from '../state/paths.js';

export function containersDir(root: string, podId: string): string {
  return join(statePaths.podDir(root, podId), 'containers');
}

export function containerPaths(root: string, podId: string, name: string) {
  const dir = join(containersDir(root, podId), name);
  return {
    dir,
    record: join(dir, 'container.json'),
    status: join(dir, 'state.json'),
    log: join(dir, 'log.jsonl'),
    hosts: join(dir, 'hosts'),
    resolvConf: join(dir, 'resolv.conf'),
    hostname: join(dir, 'hostname'),
    mountPoint: join(dir, 'rootfs'),
    upper: join(dir, 'upper'),
    work: join(dir, 'work'),
    copy: join(dir, 'copy'),
    seccomp: join(dir, 'seccomp.bpf'),
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
