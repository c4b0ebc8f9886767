#!/usr/bin/env node
// The builtin port forwarder. It runs inside the pod's user and network
// namespaces with the host's listening sockets as fds 3, 4, ...: it accepts
// on them and connects to 127.0.0.1:PODPORT, which is the pod's loopback.
// argv[2]: JSON [{fd, podPort}].
import { connect, createServer, type Socket } from 'node:net';

// Half-closes pass through (allowHalfOpen + pipe's end()): a client that
// shuts down its sending side still gets the whole answer.
function relay(client: Socket, podPort: number): void {
  const upstream = connect({ host: '127.0.0.1', port: podPort, allowHalfOpen: true, noDelay: true });
  client.setNoDelay(true); // small responses go out at once, as they would without us
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close); // backend down: the client sees a reset at once
  // A side that closes cleanly ends the other through pipe(), after its
  // buffered data: destroying it here would drop that data.
  client.pipe(upstream);
  upstream.pipe(client);
}

const specs = JSON.parse(process.argv[2] ?? '[]') as { fd: number; podPort: number }[];
for (const { fd, podPort } of specs) {
  const server = createServer({ allowHalfOpen: true }, (c) => relay(c, podPort));
  server.on('error', (err) => process.stderr.write(`nsbox forwarder: ${err.message}\n`));
  server.listen({ fd });
}
