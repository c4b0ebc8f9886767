// Health checks as docker and podman define them, pure: durations as Go
// writes them ("30s", "1m30s", "500ms"), the image's Healthcheck (times in
// nanoseconds), and the state a check result leads to:
//   starting  until the first success, or until `retries` failures in a row
//             once the start period is over (failures inside it do not count);
//   healthy   after a success;
//   unhealthy after `retries` failures in a row.

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

/** Kubernetes' probe actions: a command in the container, or a request inside the pod's network namespace. */
export type ProbeAction =
  | { kind: 'exec'; command: string[] }
  | { kind: 'http'; port: number; path: string; scheme: 'HTTP' | 'HTTPS'; headers: Record<string, string> }
  | { kind: 'tcp'; port: number };

export interface HealthConfig {
  /** What runs in the container: argv (CMD-SHELL is already ["/bin/sh", "-c", …]). */
  test: string[];
  /** An HTTP GET or a TCP connect in the pod's network instead of `test` (kube play's httpGet and tcpSocket probes). */
  probe?: Exclude<ProbeAction, { kind: 'exec' }>;
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  retries: number;
  /**
   * podman's --health-on-failure; terminate is the kubelet's answer to a
   * failed liveness probe: the preStop hook, the stop signal, SIGKILL once
   * `graceSeconds` are over, and then the restart policy decides.
   */
  onFailure: 'none' | 'kill' | 'restart' | 'stop' | 'terminate';
  /** terminate's grace period (kube's terminationGracePeriodSeconds). */
  graceSeconds?: number;
}

export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface HealthState {
  Status: HealthStatus;
  FailingStreak: number;
  Log: HealthLogEntry[];
  /** The start of the container's process these results are about (a restart begins again). */
  startedAt: string | null;
}

export const HEALTH_DEFAULTS = { intervalMs: 30_000, timeoutMs: 30_000, startPeriodMs: 0, retries: 3 };
/** docker keeps the last five results. */
const LOG_KEPT = 5;

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "1m30s" → 90000; null when it is not a duration. A bare number is seconds (podman takes that too). */
export function parseDuration(spec: string): number | null {
  if (/^\d+(\.\d+)?$/.test(spec)) return Number(spec) * 1000;
  const re = /(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(spec); m; m = re.exec(spec)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    end = re.lastIndex;
  }
  return spec !== '' && end === spec.length ? Math.round(total) : null;
}

/** docker's Test: ["CMD", argv…], ["CMD-SHELL", "command"], ["NONE"]; a plain string is CMD-SHELL. Null: no check. */
export function healthTest(test: string | string[]): string[] | null {
  if (typeof test === 'string') return test === '' || test === 'none' ? null : ['/bin/sh', '-c', test];
  const [kind, ...rest] = test;
  if (kind === 'NONE') return null;
  if (kind === 'CMD') return rest.length ? rest : null;
  if (kind === 'CMD-SHELL') return rest.length ? ['/bin/sh', '-c', rest.join(' ')] : null;
  return test.length ? test : null;
}

export function initialHealth(startedAt: string | null): HealthState {
  return { Status: 'starting', FailingStreak: 0, Log: [], startedAt };
}

/** The state after one check's result. */
export function nextHealth(prev: HealthState, result: HealthLogEntry, cfg: Pick<HealthConfig, 'retries' | 'startPeriodMs'>, now: number): HealthState {
  const Log = [...prev.Log, result].slice(-LOG_KEPT);
  if (result.ExitCode === 0) return { ...prev, Status: 'healthy', FailingStreak: 0, Log };
  const inStartPeriod = prev.startedAt !== null && now - Date.parse(prev.startedAt) < cfg.startPeriodMs;
  // Within the start period a failure does not count, unless the container was already healthy.
  if (inStartPeriod && prev.Status === 'starting') return { ...prev, Log };
  const FailingStreak = prev.FailingStreak + 1;
  return { ...prev, FailingStreak, Status: FailingStreak >= cfg.retries ? 'unhealthy' : prev.Status, Log };
}
