// The listening TCP ports in the text of /proc/PID/net/tcp or tcp6: what a
// port check reads from the host for a pod's network namespace, without
// running anything inside it (so it works on images without a shell).

const TCP_LISTEN = '0A';

export function listeningTcpPorts(text: string): Set<number> {
  const ports = new Set<number>();
  for (const line of text.split('\n').slice(1)) {
    // "  0: 00000000:0050 00000000:0000 0A ..." (sl, local, remote, state)
    const fields = line.trim().split(/\s+/);
    if (fields.length < 4 || fields[3] !== TCP_LISTEN) continue;
    const port = parseInt(fields[1]!.slice(fields[1]!.lastIndexOf(':') + 1), 16);
    if (Number.isInteger(port) && port > 0) ports.add(port);
  }
  return ports;
}
