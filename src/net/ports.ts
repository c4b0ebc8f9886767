// -p [IP:]HOSTPORT:PODPORT[/tcp] (podman's syntax; TCP only for now).
import { NsboxError } from '../errors.js';

export interface PortMapping {
  hostIp: string;
  hostPort: number;
  podPort: number;
  protocol: 'tcp';
}

function port(text: string, spec: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535)
    throw new NsboxError('INVALID_PORT', `invalid port ${JSON.stringify(text)} in -p ${spec}`, 'ports are 1-65535: -p [IP:]HOSTPORT:PODPORT[/tcp]');
  return n;
}

export function parsePortSpec(spec: string): PortMapping {
  const [main, proto = 'tcp'] = spec.split('/');
  if (proto !== 'tcp') throw new NsboxError('INVALID_PORT', `unsupported protocol ${JSON.stringify(proto)} in -p ${spec}`, 'only tcp is forwarded in this version');
  const parts = main!.split(':');
  if (parts.length < 2 || parts.length > 3) throw new NsboxError('INVALID_PORT', `invalid port mapping ${JSON.stringify(spec)}`, 'use -p [IP:]HOSTPORT:PODPORT[/tcp]');
  const [hostIp, hostPort, podPort] = parts.length === 3 ? parts : ['0.0.0.0', ...parts];
  if (!/^(\d{1,3}\.){3}\d{1,3}$/.test(hostIp!)) throw new NsboxError('INVALID_PORT', `invalid address ${JSON.stringify(hostIp)} in -p ${spec}`, 'use an IPv4 address such as 127.0.0.1');
  return { hostIp: hostIp!, hostPort: port(hostPort!, spec), podPort: port(podPort!, spec), protocol: 'tcp' };
}

export function formatPort(p: PortMapping): string {
  return `${p.hostIp}:${p.hostPort}->${p.podPort}/${p.protocol}`;
}
