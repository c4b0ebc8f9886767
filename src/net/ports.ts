// -p [IP:]HOSTPORT:PODPORT[/tcp|/udp] (podman's syntax). Without a host port
// (-p 80, -p IP::80) or with 0 (-p 0:80), the host port is a free one the
// kernel picks when the listener is bound (listeners.ts); the record has
// the real one.
import { NsboxError } from '../errors.js';

export interface PortMapping {
  hostIp: string;
  hostPort: number;
  podPort: number;
  protocol: 'tcp' | 'udp';
}

function port(text: string, spec: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535)
    throw new NsboxError('INVALID_PORT', `invalid port ${JSON.stringify(text)} in -p ${spec}`, 'ports are 1-65535: -p [IP:]HOSTPORT:PODPORT[/tcp|/udp]');
  return n;
}

/** A port or a range "8080-8082"; both sides of a mapping must have the same length. */
function portRange(text: string, spec: string): number[] {
  const m = /^(\d+)-(\d+)$/.exec(text);
  if (!m) return [port(text, spec)];
  const [lo, hi] = [port(m[1]!, spec), port(m[2]!, spec)];
  if (hi < lo) throw new NsboxError('INVALID_PORT', `invalid port range ${JSON.stringify(text)} in -p ${spec}`, 'give the lower port first, e.g. 8080-8082');
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

/** One -p value; a range such as 8080-8082:80-82 gives several mappings. */
export function parsePortSpecs(spec: string): PortMapping[] {
  const [main, proto = 'tcp', ...extra] = spec.split('/');
  if ((proto !== 'tcp' && proto !== 'udp') || extra.length)
    throw new NsboxError('INVALID_PORT', `unsupported protocol ${JSON.stringify(proto)} in -p ${spec}`, 'end the mapping with /tcp or /udp (default tcp)');
  const parts = main!.split(':');
  if (parts.length > 3) throw new NsboxError('INVALID_PORT', `invalid port mapping ${JSON.stringify(spec)}`, 'use -p [IP:]HOSTPORT:PODPORT[/tcp|/udp]');
  const [hostIp, hostPort, podPort] = parts.length === 3 ? parts : parts.length === 2 ? ['0.0.0.0', ...parts] : ['0.0.0.0', '', parts[0]];
  if (!/^(\d{1,3}\.){3}\d{1,3}$/.test(hostIp!)) throw new NsboxError('INVALID_PORT', `invalid address ${JSON.stringify(hostIp)} in -p ${spec}`, 'use an IPv4 address such as 127.0.0.1');
  const pods = portRange(podPort!, spec);
  // No host port, or 0: a free one each, picked when it is bound.
  const hosts = hostPort === '' || hostPort === '0' ? pods.map(() => 0) : portRange(hostPort!, spec);
  if (hosts.length !== pods.length)
    throw new NsboxError('INVALID_PORT', `port ranges of different lengths in -p ${spec}`, 'map N host ports to N pod ports, e.g. 8080-8082:80-82');
  return hosts.map((h, i) => ({ hostIp: hostIp!, hostPort: h, podPort: pods[i]!, protocol: proto }));
}

export function formatPort(p: PortMapping): string {
  return `${p.hostIp}:${p.hostPort}->${p.podPort}/${p.protocol}`;
}
