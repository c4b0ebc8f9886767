// docker's State.Health in inspect: the health checks the pod's keeper
// runs (nsbox healthcheck run), as testcontainers' forHealthCheck and
// `docker inspect -f {{.State.Health.Status}}` read them.
import { currentHealth } from '../../container/health-store.js';
import type { Resolved } from './containers.js';

/** Present only for a container with a health check. */
export function healthOf(r: Resolved): { Health?: { Status: string; FailingStreak: number; Log: unknown[] } } {
  const rec = r.container?.record();
  if (!r.container || !rec?.healthcheck) return {};
  const h = currentHealth(rec, r.container.paths().dir);
  return { Health: { Status: h?.Status ?? 'starting', FailingStreak: h?.FailingStreak ?? 0, Log: h?.Log ?? [] } };
}
