// stop's grace period: SIGTERM first, SIGKILL once the grace period is
// over. A container that ignores SIGTERM is killed (137) after the grace
// period, not before and not much after; one that exits on SIGTERM does not
// wait it out. The same holds for `pod stop`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBusybox } from './helpers/busybox.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { nsbox, removeAllPods, waitFor } from './helpers/nsbox.js';
import { podFacts, running } from './helpers/processes.js';

const POD = 'stops';
/** Room for a loaded two-core machine on top of the grace period; never a speed target. */
const MARGIN_MS = 10_000;
const IGNORES_TERM = 'trap "" TERM; echo ready; while true; do sleep 0.05; done';
let root: string;

beforeAll(async () => {
  root = tempRoot();
  await importBusybox(root);
  expect(nsbox(root, ['pod', 'create', '--name', POD]).code).toBe(0);
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

function container(pod: string, name: string): { state: string; exitCode: number | null; process: { pid: number } | null } {
  const all = JSON.parse(nsbox(root, ['ps', '-a', '--pod', pod, '--format', 'json']).stdout) as { name: string; state: string; exitCode: number | null; process: { pid: number } | null }[];
  const c = all.find((x) => x.name === name);
  if (!c) throw new Error(`no container ${pod}/${name}`);
  return c;
}

/** A detached container whose shell has printed `ready`; returns its pid. */
async function started(pod: string, name: string, script: string): Promise<number> {
  expect(nsbox(root, ['run', '-d', '--pod', pod, '--name', name, 'busybox', 'sh', '-c', script]).code).toBe(0);
  await waitFor(() => nsbox(root, ['logs', `${pod}/${name}`]).stdout.includes('ready\n'), 10_000, `${name} to be ready`);
  return container(pod, name).process!.pid;
}

function timed(args: string[]): { code: number; ms: number; stderr: string } {
  const t0 = Date.now();
  const r = nsbox(root, args);
  return { code: r.code, ms: Date.now() - t0, stderr: r.stderr };
}

describe(`stop escalates to SIGKILL (${testMode})`, () => {
  it('stop -t 1 of a container that ignores SIGTERM kills it after the grace period: exit 137', async () => {
    const pid = await started(POD, 'stubborn', IGNORES_TERM);
    // Control: SIGTERM alone does not end it.
    expect(nsbox(root, ['kill', '-s', 'TERM', `${POD}/stubborn`]).code).toBe(0);
    await new Promise((r) => setTimeout(r, 1000));
    expect(running(pid)).toBe(true);
    expect(container(POD, 'stubborn').state).toBe('running');

    const stop = timed(['stop', '-t', '1', `${POD}/stubborn`]);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.ms).toBeGreaterThanOrEqual(1000);
    expect(stop.ms).toBeLessThan(1000 + MARGIN_MS);
    expect(container(POD, 'stubborn')).toMatchObject({ state: 'exited', exitCode: 137 });
    expect(running(pid)).toBe(false);
  });

  it('a container that exits on SIGTERM does not wait out the grace period (143), and -t 0 kills at once (137)', async () => {
    const polite = await started(POD, 'polite', 'echo ready; exec sleep 600');
    const stop = timed(['stop', '-t', '60', `${POD}/polite`]);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.ms).toBeLessThan(MARGIN_MS);
    expect(container(POD, 'polite')).toMatchObject({ state: 'exited', exitCode: 143 });
    expect(running(polite)).toBe(false);

    const stubborn = await started(POD, 'stubborn-0', IGNORES_TERM);
    const now = timed(['stop', '-t', '0', `${POD}/stubborn-0`]);
    expect(now.code, now.stderr).toBe(0);
    expect(now.ms).toBeLessThan(MARGIN_MS);
    expect(container(POD, 'stubborn-0')).toMatchObject({ state: 'exited', exitCode: 137 });
    expect(running(stubborn)).toBe(false);
  });

  it('pod stop -t 1 kills a container that ignores SIGTERM after the grace period and ends the pod', async () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'pod-stop']).code).toBe(0);
    const stubborn = await started('pod-stop', 'stubborn', IGNORES_TERM);
    const polite = await started('pod-stop', 'polite', 'trap "echo bye; exit 5" TERM; echo ready; while true; do sleep 0.05; done');
    const { pausePid } = podFacts(root, 'pod-stop');
    const stop = timed(['pod', 'stop', '-t', '1', 'pod-stop']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.ms).toBeGreaterThanOrEqual(1000);
    expect(stop.ms).toBeLessThan(1000 + MARGIN_MS);
    expect(container('pod-stop', 'stubborn')).toMatchObject({ state: 'exited', exitCode: 137 });
    expect(container('pod-stop', 'polite')).toMatchObject({ state: 'exited', exitCode: 5 });
    expect([stubborn, polite, pausePid].filter(running)).toEqual([]);
    expect(podFacts(root, 'pod-stop').status).toBe('exited');
  });
});
