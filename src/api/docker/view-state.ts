// The parts of docker's inspect that come from a running pod: State.Health
// (the health checks the service runs, watch.ts) and
// NetworkSettings.Networks (the user networks the pod is on, with its
// address and aliases there).
import { currentHealth } from '../../container/health-store.js';
import type { Resolved } from './containers.js';

/** docker's State.Health: present only for a container with a health check. */
export function healthOf(r: Resolved): { Health?: { Status: string; FailingStreak: number; Log: unknown[] } } {
  const rec = r.container?.record();
  if (!r.container || !rec?.healthcheck) return {};
  const h = currentHealth(rec, r.container.paths().dir);
  return { Health: { Status: h?.Status ?? 'starting', FailingStreak: h?.FailingStreak ?? 0, Log: h?.Log ?? [] } };
}

export function networksOf(r: Resolved): Record<string, unknown> {
  const on = r.pod?.record.networks ?? {};
  return Object.fromEntries(
    Object.entries(on).map(([name, n]) => [
      name,
      { NetworkID: n.networkId, EndpointID: `${r.pod!.record.id}-${name}`, Gateway: n.gateway, IPAddress: n.ip, IPPrefixLen: n.prefix, MacAddress: '', Aliases: n.aliases, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0 },
    ]),
  );
}
