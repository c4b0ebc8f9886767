// The ports a testcontainers-style builder exposes, as testcontainers-node
// takes them: 80, "80/udp", or { container: 80, host: 8080 }. Pure: what is
// not a port comes back as null (the caller says what to do).

export type PortProtocol = 'tcp' | 'udp';
export type PortWithOptionalBinding = number | `${number}/${PortProtocol}` | { container: number; host: number; protocol?: PortProtocol };

export interface ExposedPort {
  container: number;
  /** A fixed host port, or null for a free one picked when it is bound. */
  host: number | null;
  protocol: PortProtocol;
}

const isPort = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;

export function parseExposedPort(p: unknown): ExposedPort | null {
  if (isPort(p)) return { container: p, host: null, protocol: 'tcp' };
  if (typeof p === 'string') {
    const m = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(p);
    const n = m ? Number(m[1]) : NaN;
    return m && isPort(n) ? { container: n, host: null, protocol: (m[2] as PortProtocol | undefined) ?? 'tcp' } : null;
  }
  if (p && typeof p === 'object') {
    const { container, host, protocol = 'tcp' } = p as { container?: unknown; host?: unknown; protocol?: unknown };
    if (!isPort(container) || !isPort(host) || (protocol !== 'tcp' && protocol !== 'udp')) return null;
    return { container, host, protocol };
  }
  return null;
}

/** The `-p` form of it: on hostIp, at its fixed host port or a free one. */
export function publishSpec(p: ExposedPort, hostIp: string): string {
  return `${hostIp}:${p.host ?? ''}:${p.container}/${p.protocol}`;
}

/** The first port exposed twice (same number and protocol), or null. */
export function duplicatePort(ports: ExposedPort[]): ExposedPort | null {
  const seen = new Set<string>();
  for (const p of ports) {
    const key = `${p.container}/${p.protocol}`;
    if (seen.has(key)) return p;
    seen.add(key);
  }
  return null;
}
