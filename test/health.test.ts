// Health checks as docker and podman run them: --health-cmd (or the image's
// Healthcheck), run every interval while the container runs (by the pod's
// keeper, or the library process), starting → healthy → unhealthy after
// --health-retries failures in a row, failures in the start period not
// counted, a check past its timeout failed; shown by ps and inspect, awaited
// with `wait --condition healthy`, run by hand with `healthcheck run`, and
// --health-on-failure acting on the turn to unhealthy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { importConfigImage, importImage } from './helpers/images.js';
import { isOneLineRefusal } from './helpers/cli-process.js';
import { nsbox, nsboxAsync, removeAllPods } from './helpers/nsbox.js';
import { createPod, waitForCondition, containerHealth, runHealthCheck } from '../dist/index.js';

let root: string;
let imageWithCheck: string;

beforeAll(() => {
  root = tempRoot();
  importImage(root, 'busybox');
  // An image whose Healthcheck (times in ns, as docker writes them) passes once /tmp/up exists.
  imageWithCheck = importConfigImage(root, 'checked', 'oci', { Cmd: ['sh', '-c', 'touch /tmp/up; sleep 600'], Healthcheck: { Test: ['CMD-SHELL', 'test -e /tmp/up'], Interval: 300e6, Retries: 2 } });
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

const cli = (...args: string[]) => nsbox(root, args);
const inspect = (ref: string) => JSON.parse(cli('inspect', ref).stdout)[0];
const psEntry = (name: string) => JSON.parse(cli('ps', '-a', '--format', 'json').stdout).find((e: { Names: string[] }) => e.Names.includes(name));

describe(`health checks (${testMode})`, () => {
  it('goes starting → healthy → unhealthy with the check, shown by ps and inspect and awaited by wait --condition', async () => {
    const r = cli('run', '-d', '--name', 'flips', '--health-cmd', 'test -e /tmp/ok', '--health-interval', '300ms', '--health-retries', '2', 'busybox', 'sh', '-c', 'sleep 1; touch /tmp/ok; sleep 600');
    expect(r.code, r.stderr).toBe(0);
    expect(psEntry('flips').Status).toMatch(/^Up.*\(starting\)$/);
    expect((await nsboxAsync(root, ['wait', '--condition', 'healthy', 'flips'])).code).toBe(0);
    expect(psEntry('flips')).toMatchObject({ Health: 'healthy' });
    expect(cli('ps').stdout).toMatch(/flips .*Up .*\(healthy\)/);
    expect(cli('exec', '--join', 'flips', 'flips', '--', 'rm', '/tmp/ok').code).toBe(0);
    expect((await nsboxAsync(root, ['wait', '--condition', 'unhealthy', 'flips'])).code).toBe(0);
    const health = inspect('flips').State.Health;
    expect(health.Status).toBe('unhealthy');
    expect(health.FailingStreak).toBeGreaterThanOrEqual(2);
    expect(health.Log.length).toBeGreaterThan(0);
    expect(health.Log.length).toBeLessThanOrEqual(5);
    expect(health.Log.at(-1)).toMatchObject({ ExitCode: 1 });
    expect(inspect('flips').Config.Healthcheck).toMatchObject({ Test: ['CMD', '/bin/sh', '-c', 'test -e /tmp/ok'], Interval: 300e6, Retries: 2 });
  });

  it('healthcheck run: exit 0 when the check passes, 1 with the state when it fails; refused without a check', () => {
    expect(cli('run', '-d', '--name', 'manual', '--health-cmd', 'test -e /tmp/pass', '--health-interval', '1h', 'busybox', 'sleep', '600').code).toBe(0);
    const failing = cli('healthcheck', 'run', 'manual');
    expect(failing.code).toBe(1);
    expect(failing.stdout).toBe('starting\n');
    expect(cli('exec', '--join', 'manual', 'manual', '--', 'touch', '/tmp/pass').code).toBe(0);
    expect(cli('healthcheck', 'run', 'manual').code).toBe(0);
    expect(inspect('manual').State.Health.Status).toBe('healthy');
    expect(cli('run', '-d', '--name', 'unchecked', 'busybox', 'sleep', '600').code).toBe(0);
    const none = cli('healthcheck', 'run', 'unchecked');
    expect(none.code).toBe(125);
    expect(isOneLineRefusal(none)).toBe(true);
    expect(none.stderr).toMatch(/has no health check/);
    expect(inspect('unchecked').State.Health).toBeUndefined();
  });

  it('failures inside the start period do not count; after it they do (the control: the same check without one)', async () => {
    const args = (name: string, extra: string[]) => ['run', '-d', '--name', name, '--health-cmd', 'false', '--health-interval', '200ms', '--health-retries', '1', ...extra, 'busybox', 'sleep', '600'];
    expect(cli(...args('patient', ['--health-start-period', '4s'])).code).toBe(0);
    expect(cli(...args('impatient', [])).code).toBe(0);
    expect((await nsboxAsync(root, ['wait', '--condition', 'unhealthy', 'impatient'])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 1000));
    const patient = inspect('patient').State.Health;
    expect(patient.Status).toBe('starting');
    expect(patient.Log.length).toBeGreaterThan(0); // it ran, and failed, without counting
    expect((await nsboxAsync(root, ['wait', '--condition', 'unhealthy', 'patient'])).code).toBe(0);
  });

  it('a check past its timeout fails with a note saying so', async () => {
    expect(cli('run', '-d', '--name', 'slow', '--health-cmd', 'sleep 5', '--health-timeout', '300ms', '--health-interval', '500ms', '--health-retries', '1', 'busybox', 'sleep', '600').code).toBe(0);
    expect((await nsboxAsync(root, ['wait', '--condition', 'unhealthy', 'slow'])).code).toBe(0);
    expect(inspect('slow').State.Health.Log[0]).toMatchObject({ ExitCode: -1, Output: expect.stringMatching(/exceeded its timeout of 300 ms/) });
  });

  it('--health-on-failure kill ends the container once it turns unhealthy', async () => {
    expect(cli('run', '-d', '--name', 'killed', '--health-cmd', 'false', '--health-interval', '200ms', '--health-retries', '2', '--health-on-failure', 'kill', 'busybox', 'sleep', '600').code).toBe(0);
    const w = await nsboxAsync(root, ['wait', 'killed']);
    expect(w.stdout).toBe('137\n');
    expect(psEntry('killed').State).toBe('exited');
  });

  it("takes the image's Healthcheck; --no-healthcheck turns it off", async () => {
    expect(cli('run', '-d', '--name', 'from-image', imageWithCheck).code).toBe(0);
    expect((await nsboxAsync(root, ['wait', '--condition', 'healthy', 'from-image'])).code).toBe(0);
    expect(inspect('from-image').Config.Healthcheck).toMatchObject({ Interval: 300e6, Retries: 2 });
    expect(cli('run', '-d', '--name', 'image-off', '--no-healthcheck', imageWithCheck).code).toBe(0);
    expect(inspect('image-off').State.Health).toBeUndefined();
    const w = cli('wait', '--condition', 'healthy', 'image-off');
    expect(w.code).toBe(125);
    expect(w.stderr).toMatch(/has no health check/);
  });

  it('a library pod checks its containers itself, with no keeper', async () => {
    await using pod = await createPod({ root });
    pod.dataRoot = root;
    const c = await pod.run('busybox', { command: ['sh', '-c', 'sleep 0.5; touch /tmp/ok; sleep 600'], healthCmd: 'test -e /tmp/ok', healthInterval: '200ms' });
    expect(containerHealth(c)?.Status).toBe('starting');
    expect(await waitForCondition(c, 'healthy')).toBe(0);
    expect((await runHealthCheck(c)).passed).toBe(true);
  });

  it('refuses bad health options in one line, starting nothing', () => {
    const before = cli('ps', '-a', '-q').stdout;
    for (const extra of [
      ['--health-cmd', 'true', '--health-interval', 'soon'],
      ['--health-cmd', 'true', '--health-interval', '10ms'],
      ['--health-cmd', 'true', '--health-retries', '0'],
      ['--health-cmd', 'true', '--health-on-failure', 'explode'],
      ['--health-cmd', 'true', '--no-healthcheck'],
      ['--health-interval', '1s'],
    ]) {
      const r = cli('run', '-d', ...extra, 'busybox', 'sleep', '1');
      expect(r.code, `${extra.join(' ')}: ${r.stderr}`).toBe(125);
      expect(isOneLineRefusal(r), `${extra.join(' ')}: ${r.stderr}`).toBe(true);
    }
    const bad = cli('wait', '--condition', 'sleepy', 'manual');
    expect(bad.code).toBe(125);
    expect(cli('ps', '-a', '-q').stdout).toBe(before);
  });
});
