// Listening sockets opened in the host's network namespace before the pod
// exists, so "address already in use" fails pod create with nothing left.
// Their fds are handed to the forwarder inside the pod (DESIGN.md: a host
// socket keeps working when a process in another netns inherits it).
import { createServer, type Server } from 'node:net';
import { NsboxError } from '../errors.js';
import { formatPort, type PortMapping } from './ports.js';

export interface HostListener {
  mapping: PortMapping;
  server: Server;
  fd: number;
}

function listen(mapping: PortMapping): Promise<HostListener> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      const what = `${mapping.hostIp}:${mapping.hostPort}`;
      if (err.code === 'EADDRINUSE') reject(new NsboxError('PORT_IN_USE', `cannot publish ${formatPort(mapping)}: address already in use (${what})`, 'choose another host port with -p'));
      else if (err.code === 'EACCES') reject(new NsboxError('PORT_DENIED', `cannot publish ${formatPort(mapping)}: permission denied`, 'ports below 1024 need root or sysctl net.ipv4.ip_unprivileged_port_start=80'));
      else reject(new NsboxError('PORT_FAILED', `cannot publish ${formatPort(mapping)}: ${err.code ?? err.message}`));
    });
    server.listen({ host: mapping.hostIp, port: mapping.hostPort, backlog: 511 }, () => {
      const fd = (server as unknown as { _handle?: { fd?: number } })._handle?.fd;
      if (typeof fd !== 'number' || fd < 0) return reject(new NsboxError('PORT_FAILED', `cannot publish ${formatPort(mapping)}: no fd for the listening socket`));
      resolve({ mapping, server, fd });
    });
  });
}

export async function openHostListeners(mappings: PortMapping[]): Promise<HostListener[]> {
  const opened: HostListener[] = [];
  try {
    for (const m of mappings) opened.push(await listen(m));
    return opened;
  } catch (err) {
    closeHostListeners(opened);
    throw err;
  }
}

export function closeHostListeners(listeners: HostListener[]): void {
  for (const l of listeners) l.server.close();
}
