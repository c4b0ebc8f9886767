// One lifecycle for containers, as podman users know it: a container waiting
// to be restarted says so (and refuses exec and kill as "restarting"),
// stopping one that is not running succeeds, `rm -f` of several goes on past
// a missing one, and stop sends the image's StopSignal (or --stop-signal).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testMode } from './helpers/env.js';
import { setUpPodRoot, tearDownPodRoot } from './helpers/pod-root.js';
import { importConfigImage } from './helpers/images.js';
import { nsbox, waitFor } from './helpers/nsbox.js';

let root: string;
const POD = 'lc';
const psOf = (name: string) =>
  (JSON.parse(nsbox(root, ['ps', '-a', '--pod', POD, '--format', 'json']).stdout) as { name: string; state: string; exitCode: number | null; restartCount: number }[]).find((c) => c.name === name);

beforeAll(() => {
  root = setUpPodRoot(POD);
});
afterAll(() => tearDownPodRoot(root));

describe(`container lifecycle (${testMode})`, () => {
  it('a container in restart backoff is "restarting": ps says so, exec and kill refuse it by that name, stop ends it', async () => {
    expect(nsbox(root, ['run', '-d', '--pod', POD, '--name', 'flappy', '--restart', 'always', 'busybox', 'sh', '-c', 'exit 3']).code).toBe(0);
    // The backoff doubles from 100 ms: after the 7th restart it waits 6.4 s, room for the checks below.
    await waitFor(() => {
      const c = psOf('flappy');
      return c?.state === 'restarting' && c.restartCount >= 7;
    }, 30_000, 'a long restart backoff');
    expect(nsbox(root, ['ps', '-a', '--pod', POD]).stdout).toMatch(/lc\/flappy .*Restarting \(3\) .*ago/);
    const exec = nsbox(root, ['exec', '--join', 'flappy', POD, '--', 'true']);
    expect(exec.code).toBe(125);
    expect(exec.stderr).toMatch(/^nsbox: cannot exec in container lc\/flappy: it is restarting: /);
    const kill = nsbox(root, ['kill', `${POD}/flappy`]);
    expect(kill.code).toBe(125);
    expect(kill.stderr).toMatch(/^nsbox: cannot kill container lc\/flappy: it is restarting: /);
    expect(nsbox(root, ['stop', '-t', '1', `${POD}/flappy`]).code).toBe(0);
    expect(psOf('flappy')?.state).toBe('exited');
    expect(nsbox(root, ['rm', `${POD}/flappy`]).code).toBe(0);
  }, 60_000);

  it('stopping a container that is not running succeeds and changes nothing', () => {
    expect(nsbox(root, ['run', '--pod', POD, '--name', 'done', 'busybox', 'sh', '-c', 'exit 4']).code).toBe(4);
    const r = nsbox(root, ['stop', `${POD}/done`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${POD}/done\n`);
    expect(psOf('done')).toMatchObject({ state: 'exited', exitCode: 4 });
    // Positive control: a running one is stopped by the same command.
    expect(nsbox(root, ['run', '-d', '--pod', POD, '--name', 'up', 'busybox', 'sleep', '1000']).code).toBe(0);
    expect(nsbox(root, ['stop', '-t', '0', `${POD}/up`]).code).toBe(0);
    expect(psOf('up')).toMatchObject({ state: 'exited', exitCode: 137 });
  });

  it('rm -f of several removes every one that exists and reports the missing one on its own line (exit 1)', () => {
    for (const n of ['a1', 'a2']) expect(nsbox(root, ['run', '-d', '--pod', POD, '--name', n, 'busybox', 'sleep', '1000']).code).toBe(0);
    const r = nsbox(root, ['rm', '-f', `${POD}/a1`, `${POD}/nope`, `${POD}/a2`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`${POD}/a1\n${POD}/a2\n`);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^nsbox: no such container: lc\/nope/)]);
    expect(psOf('a1')).toBeUndefined();
    expect(psOf('a2')).toBeUndefined();
    // Anything but a missing container is nsbox's own error: 125 (a bare NAME is a container's name now, so a malformed ref).
    expect(nsbox(root, ['rm', 'not/a/ref']).code).toBe(125);
    expect(nsbox(root, ['rm', 'nobody-by-this-name']).code).toBe(1);
  });

  it("stop sends the image's StopSignal, and --stop-signal overrides it", async () => {
    const image = importConfigImage(root, 'usr1', 'docker-save', { StopSignal: 'SIGUSR1', Cmd: ['sh', '-c', 'trap "exit 10" USR1; trap "exit 11" QUIT; echo armed; while :; do sleep 0.1; done'] });
    for (const [name, flags] of [
      ['by-image', []],
      ['by-flag', ['--stop-signal', 'QUIT']],
    ] as const) {
      expect(nsbox(root, ['run', '-d', '--pod', POD, '--name', name, ...flags, image]).code).toBe(0);
    }
    // Both have their traps set before they are stopped.
    await waitFor(() => ['by-image', 'by-flag'].every((n) => nsbox(root, ['logs', `${POD}/${n}`]).stdout.includes('armed')), 15_000, 'the traps');
    for (const [name, code] of [
      ['by-image', 10],
      ['by-flag', 11],
    ] as const) {
      const r = nsbox(root, ['stop', '-t', '20', `${POD}/${name}`]);
      expect(r.code, r.stderr).toBe(0);
      expect(psOf(name)).toMatchObject({ state: 'exited', exitCode: code });
    }
    const bad = nsbox(root, ['run', '--pod', POD, '--stop-signal', 'NOPE', 'busybox', 'true']);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toBe('nsbox: unknown stop signal "NOPE": use a name such as TERM, QUIT or INT, or a number\n');
  });
});
