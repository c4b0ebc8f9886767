// A container's health.json: the state its health checks led to. Each check
// (`nsbox healthcheck run`, started by the pod's keeper, or the library
// process) reads and writes it under health.lock, so checks that overlap
// never lose a result.
import { join } from 'node:path';
import { readJson, writeRuntimeJson } from '../state/atomic.js';
import { withFileLock } from '../state/lock.js';
import { initialHealth, type HealthState } from '../core/health.js';

export const healthPaths = (containerDir: string) => ({ state: join(containerDir, 'health.json'), lock: join(containerDir, 'health.lock') });

export function readHealth(containerDir: string): HealthState | null {
  const h = readJson<HealthState>(healthPaths(containerDir).state);
  return h && typeof h.Status === 'string' && Array.isArray(h.Log) ? h : null;
}

/** The health of the container's current run: its results, or starting before the first (null without a check). */
export function currentHealth(r: { healthcheck?: unknown; startedAt: string | null }, containerDir: string): HealthState | null {
  if (!r.healthcheck) return null;
  const h = readHealth(containerDir);
  return h && h.startedAt === r.startedAt ? h : initialHealth(r.startedAt);
}

/** Changes the state under the lock: `update` gets the current one (null: none yet). */
export function updateHealth(containerDir: string, update: (prev: HealthState | null) => HealthState): Promise<HealthState> {
  return withFileLock(healthPaths(containerDir).lock, () => {
    const next = update(readHealth(containerDir));
    writeRuntimeJson(healthPaths(containerDir).state, next);
    return next;
  });
}
