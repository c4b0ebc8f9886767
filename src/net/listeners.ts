// Listening sockets opened in the host's network namespace before the pod
// exists, so "address already in use" fails pod create with nothing left.
// Their fds are handed to the forwarder inside the pod (a host socket
// keeps working when a process in another netns inherits it).
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { NsboxError } from '../errors.js';
import { formatPort, type PortMapping } from './ports.js';

export interface HostListener {
  mapping: PortMapping;
  fd: number;
  close(): void;
}

/** Why a host port could not be bound, and what to do: from the errno's name (EADDRINUSE, ...). */
export function bindError(mapping: PortMapping, err: { code?: string; message?: string }): NsboxError {
  const what = `${mapping.hostIp}:${mapping.hostPort}/${mapping.protocol}`;
  if (err.code === 'EADDRINUSE') return new NsboxError('PORT_IN_USE', `cannot publish ${formatPort(mapping)}: address already in use (${what})`, 'choose another host port with -p');
  if (err.code === 'EACCES') return new NsboxError('PORT_DENIED', `cannot publish ${formatPort(mapping)}: permission denied`, 'ports below 1024 need root or sysctl net.ipv4.ip_unprivileged_port_start=80');
  if (err.code === 'EADDRNOTAVAIL') return new NsboxError('PORT_FAILED', `cannot publish ${formatPort(mapping)}: ${mapping.hostIp} is not an address of this host`, 'use 0.0.0.0, 127.0.0.1 or one of `ip addr`');
  return new NsboxError('PORT_FAILED', `cannot publish ${formatPort(mapping)}: ${err.code ?? err.message}`);
}

const noFd = (mapping: PortMapping) => new NsboxError('PORT_FAILED', `cannot publish ${formatPort(mapping)}: no fd for the listening socket`);

function listenTcp(mapping: PortMapping): Promise<HostListener> {
  return new Promise((resolve, reject) => {
    const server: Server = createServer();
    server.once('error', (err) => reject(bindError(mapping, err)));
    server.listen({ host: mapping.hostIp, port: mapping.hostPort, backlog: 511 }, () => {
      const fd = (server as unknown as { _handle?: { fd?: number } })._handle?.fd;
      if (typeof fd !== 'number' || fd < 0) {
        server.close();
        return reject(noFd(mapping));
      }
      // Port 0: the one the kernel picked.
      const bound = { ...mapping, hostPort: (server.address() as { port: number }).port };
      resolve({ mapping: bound, fd, close: () => server.close() });
    });
  });
}

/** dgram keeps its handle behind a symbol (`_handle` is deprecated and warns). */
function udpFd(socket: UdpSocket): number | undefined {
  for (const sym of Object.getOwnPropertySymbols(socket)) {
    const state = (socket as unknown as Record<symbol, { handle?: { fd?: number } }>)[sym];
    if (typeof state?.handle?.fd === 'number') return state.handle.fd;
  }
  return undefined;
}

function listenUdp(mapping: PortMapping): Promise<HostListener> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: 'udp4' });
    socket.once('error', (err) => {
      socket.close();
      reject(bindError(mapping, err));
    });
    socket.bind({ address: mapping.hostIp, port: mapping.hostPort, exclusive: true }, () => {
      const fd = udpFd(socket);
      if (typeof fd !== 'number' || fd < 0) {
        socket.close();
        return reject(noFd(mapping));
      }
      socket.removeAllListeners('error');
      socket.on('error', () => {}); // this process never reads it: the forwarder does
      resolve({ mapping: { ...mapping, hostPort: socket.address().port }, fd, close: () => socket.close() });
    });
  });
}

export async function openHostListeners(mappings: PortMapping[]): Promise<HostListener[]> {
  const opened: HostListener[] = [];
  try {
    for (const m of mappings) opened.push(await (m.protocol === 'udp' ? listenUdp(m) : listenTcp(m)));
    return opened;
  } catch (err) {
    closeHostListeners(opened);
    throw err;
  }
}

export function closeHostListeners(listeners: HostListener[]): void {
  for (const l of listeners) l.close();
}
