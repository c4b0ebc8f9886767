// A pod's extra /etc/hosts entries (`--add-host NAME:IP`, docker's
// ExtraHosts, kube's hostAliases): kept in pods/ID/extra-hosts, which every
// container's /etc/hosts takes in (container/files.ts).
import { isIP } from 'node:net';
import { NsboxError } from '../errors.js';

const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/;

/** "NAME:IP" (docker's form; an IPv6 address after the first colon) → an /etc/hosts line. */
export function parseAddHost(spec: string): string {
  const colon = spec.indexOf(':');
  const name = colon < 0 ? spec : spec.slice(0, colon);
  const ip = colon < 0 ? '' : spec.slice(colon + 1).replace(/^\[(.*)\]$/, '$1');
  if (!HOST_NAME.test(name) || colon < 0)
    throw new NsboxError('INVALID_ARGUMENT', `invalid --add-host ${JSON.stringify(spec)}: it is not NAME:IP`, 'e.g. --add-host db.local:10.0.0.5');
  if (ip === 'host-gateway') throw new NsboxError('INVALID_ARGUMENT', `--add-host ${spec}: host-gateway is not supported`, "a pod has no route to the host's addresses; give an IP");
  if (!isIP(ip)) throw new NsboxError('INVALID_ARGUMENT', `invalid --add-host ${JSON.stringify(spec)}: ${JSON.stringify(ip)} is not an IP address`, 'give NAME:IPv4 or NAME:IPv6');
  return `${ip}\t${name}\n`;
}

export const EXTRA_HOSTS_FILE = 'extra-hosts';
