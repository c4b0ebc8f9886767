// The pure rules of health checks (core/health.ts), from source: Go-style
// durations, docker's Test forms, and the state a result leads to.
import { describe, expect, it } from 'vitest';
import { healthTest, initialHealth, nextHealth, parseDuration, type HealthLogEntry } from '../src/core/health.js';

const result = (ExitCode: number): HealthLogEntry => ({ Start: '', End: '', ExitCode, Output: '' });
const t0 = Date.parse('2026-01-01T00:00:00Z');

describe('health rules', () => {
  it('reads durations as docker does', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('2')).toBe(2000);
    for (const bad of ['', 's', '10x', '1m 30s', '-1s']) expect(parseDuration(bad), bad).toBeNull();
  });

  it("reads docker's Test forms", () => {
    expect(healthTest(['CMD', 'curl', '-f', 'http://x'])).toEqual(['curl', '-f', 'http://x']);
    expect(healthTest(['CMD-SHELL', 'curl -f http://x || exit 1'])).toEqual(['/bin/sh', '-c', 'curl -f http://x || exit 1']);
    expect(healthTest(['NONE'])).toBeNull();
    expect(healthTest('none')).toBeNull();
    expect(healthTest('pg_isready')).toEqual(['/bin/sh', '-c', 'pg_isready']);
  });

  it('turns healthy on a success and unhealthy after retries failures in a row; a success resets the streak', () => {
    const cfg = { retries: 2, startPeriodMs: 0 };
    let h = initialHealth(new Date(t0).toISOString());
    h = nextHealth(h, result(1), cfg, t0 + 1);
    expect(h).toMatchObject({ Status: 'starting', FailingStreak: 1 });
    h = nextHealth(h, result(0), cfg, t0 + 2);
    expect(h).toMatchObject({ Status: 'healthy', FailingStreak: 0 });
    h = nextHealth(h, result(1), cfg, t0 + 3);
    expect(h).toMatchObject({ Status: 'healthy', FailingStreak: 1 });
    h = nextHealth(h, result(1), cfg, t0 + 4);
    expect(h).toMatchObject({ Status: 'unhealthy', FailingStreak: 2 });
  });

  it('does not count failures in the start period unless it was healthy already; keeps the last five results', () => {
    const cfg = { retries: 1, startPeriodMs: 1000 };
    let h = initialHealth(new Date(t0).toISOString());
    for (let i = 0; i < 7; i++) h = nextHealth(h, result(1), cfg, t0 + 100 + i);
    expect(h).toMatchObject({ Status: 'starting', FailingStreak: 0 });
    expect(h.Log).toHaveLength(5);
    expect(nextHealth(h, result(1), cfg, t0 + 1500)).toMatchObject({ Status: 'unhealthy', FailingStreak: 1 });
    const healthy = nextHealth(h, result(0), cfg, t0 + 200);
    expect(nextHealth(healthy, result(1), cfg, t0 + 300)).toMatchObject({ Status: 'unhealthy' });
  });
});
