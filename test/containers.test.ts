// Containers from a rootfs tarball in a pod, through the CLI: run (foreground
// and -d), ps, logs, exec --join, stop, kill, rm, wait, restart policies, and
// what the container sees (its own root, the pod's /proc, /dev, /sys, /etc).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBusybox } from './helpers/busybox.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { nsbox, podDirs, processesMentioning, waitFor, removeAllPods } from './helpers/nsbox.js';

let root: string;
let tarball: string;
const POD = 'ctr';

beforeAll(async () => {
  root = tempRoot();
  tarball = await importBusybox(root);
  expect(nsbox(root, ['pod', 'create', '--name', POD]).code).toBe(0);
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

const run = (...args: string[]) => nsbox(root, ['run', '--pod', POD, ...args]);
function record(name: string): { state: string; exitCode: number | null; restartCount: number } {
  const all = JSON.parse(nsbox(root, ['ps', '-a', '--format', 'json']).stdout) as { name: string; state: string; exitCode: number | null; restartCount: number }[];
  const r = all.find((c) => c.name === name);
  if (!r) throw new Error(`no container ${name} in ps -a`);
  return r;
}

describe(`containers (${testMode})`, () => {
  it('propagates exit codes from a foreground run, as podman run does', () => {
    expect(run('--name', 'x-true', 'busybox', 'true').code).toBe(0);
    expect(run('--name', 'x-false', 'busybox', 'false').code).toBe(1);
    expect(run('--name', 'x-32', 'busybox', 'sh', '-c', 'exit 32').code).toBe(32);
    const missing = run('--name', 'x-missing', 'busybox', 'no-such-cmd');
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/no-such-cmd.*not found/);
    expect(run('--name', 'x-dir', 'busybox', '/etc').code).toBe(126);
    expect(run('--name', 'x-kill', 'busybox', 'sh', '-c', 'kill -9 $$').code).toBe(137);
    const out = run('--name', 'x-out', 'busybox', 'sh', '-c', 'echo to-stdout; echo to-stderr >&2');
    expect(out.stdout).toBe('to-stdout\n');
    expect(out.stderr).toBe('to-stderr\n');
  });

  it('sees its own root, the pod as PID namespace, device nodes, read-only /sys and /etc files', () => {
    const r = run('--name', 'view', 'busybox', 'sh', '-c', 'cat /srv/hello.txt; test -e /work && echo HOST-VISIBLE; tr "\\0" "\\n" < /proc/1/cmdline; ls /dev; touch /sys/x 2>/dev/null || echo sys-ro; cat /etc/hostname; grep -c localhost /etc/hosts; echo ok > /tmp/w && cat /tmp/w');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('hello from the image');
    expect(r.stdout).not.toMatch(/HOST-VISIBLE/);
    expect(lines[1]).toBe('/pause');
    for (const dev of ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'pts', 'shm', 'fd', 'ptmx']) expect(r.stdout).toMatch(new RegExp(`^${dev}$`, 'm'));
    expect(r.stdout).toMatch(/^sys-ro$/m);
    expect(r.stdout).toMatch(new RegExp(`^${POD}$`, 'm'));
    expect(r.stdout).toMatch(/^ok$/m);
  });

  it('runs detached; ps, logs, exec --join, stop and rm work on it', async () => {
    const started = run('-d', '--name', 'web', '-e', 'GREETING=hi', '-w', '/srv', 'busybox', 'sh', '-c', 'echo "$GREETING from $(pwd)"; exec sleep 1000');
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout.trim()).toBe(`${POD}/web`);
    expect(nsbox(root, ['ps']).stdout).toMatch(/ctr\/web .*Up/);
    const pods = JSON.parse(nsbox(root, ['pod', 'ls', '--format', 'json']).stdout) as { name: string; containers: number }[];
    expect(pods.find((p) => p.name === POD)!.containers).toBeGreaterThan(0);
    await waitFor(() => nsbox(root, ['logs', `${POD}/web`]).stdout === 'hi from /srv\n', 5000, 'the log line');
    const exec = nsbox(root, ['exec', '--join', 'web', POD, '--', 'sh', '-c', 'echo "$GREETING $(pwd)"; cat hello.txt']);
    expect(exec.stdout).toBe('hi /srv\nhello from the image\n');
    const ps = nsbox(root, ['exec', '--join', 'pause', POD, '--', 'ps', '-eo', 'args']);
    expect(ps.stdout).toMatch(/sleep 1000/);
    const rmRunning = nsbox(root, ['rm', `${POD}/web`]);
    expect(rmRunning.code).toBe(125);
    expect(rmRunning.stderr).toMatch(/is running.*rm -f/);
    expect(nsbox(root, ['stop', '-t', '5', `${POD}/web`]).code).toBe(0);
    expect(record('web')).toMatchObject({ state: 'exited', exitCode: 143 });
    expect(nsbox(root, ['wait', `${POD}/web`]).stdout).toBe('143\n');
    expect(nsbox(root, ['rm', `${POD}/web`]).code).toBe(0);
    expect(() => record('web')).toThrow();
  });

  it('delivers signals sent with kill -s to the process (a trap sees them)', async () => {
    expect(run('-d', '--name', 'trap', 'busybox', 'sh', '-c', 'trap "echo got-usr1" USR1; echo ready; while true; do sleep 0.05; done').code).toBe(0);
    await waitFor(() => nsbox(root, ['logs', `${POD}/trap`]).stdout.includes('ready'), 5000, 'ready');
    expect(nsbox(root, ['kill', '-s', 'USR1', `${POD}/trap`]).code).toBe(0);
    await waitFor(() => nsbox(root, ['logs', `${POD}/trap`]).stdout.includes('got-usr1'), 5000, 'the trap output');
    expect(nsbox(root, ['kill', `${POD}/trap`]).code).toBe(0);
    expect(nsbox(root, ['wait', `${POD}/trap`]).stdout).toBe('137\n');
    expect(nsbox(root, ['rm', `${POD}/trap`]).code).toBe(0);
  });

  it('restarts by policy and shows the count in ps', async () => {
    expect(run('-d', '--name', 'flaky', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'echo attempt; exit 3').code).toBe(0);
    expect(nsbox(root, ['wait', `${POD}/flaky`]).stdout).toBe('3\n');
    expect(record('flaky')).toMatchObject({ state: 'exited', exitCode: 3, restartCount: 2 });
    expect(nsbox(root, ['logs', `${POD}/flaky`]).stdout).toBe('attempt\nattempt\nattempt\n');
    expect(nsbox(root, ['ps', '-a']).stdout).toMatch(/ctr\/flaky .*Exited \(3\).*2 \(on-failure:2\)/);
    expect(run('-d', '--name', 'forever', '--restart', 'always', 'busybox', 'sh', '-c', 'exit 0').code).toBe(0);
    // Restarts come after a backoff (100 ms, then 200 ms): how long they take on a loaded machine is not what this tests.
    await waitFor(() => record('forever').restartCount >= 2, 25_000, 'two restarts');
    expect(nsbox(root, ['stop', `${POD}/forever`]).code).toBe(0);
    expect(record('forever').state).toBe('exited');
    expect(run('--name', 'bad-policy', '--restart', 'sometimes', 'busybox', 'true').stderr).toMatch(/invalid restart policy/);
  });

  it('start runs an exited container again, keeping its files; a running one is refused', async () => {
    expect(run('-d', '--name', 'again', 'busybox', 'sh', '-c', 'echo run >> /count; wc -l < /count; sleep 30').code).toBe(0);
    await waitFor(() => nsbox(root, ['logs', `${POD}/again`]).stdout === '1\n', 5000, 'the first run');
    const refused = nsbox(root, ['start', `${POD}/again`]);
    expect(refused.code).toBe(125);
    expect(refused.stderr).toMatch(/cannot start container ctr\/again: it is running: stop it first with `nsbox stop ctr\/again`/);
    expect(nsbox(root, ['stop', '-t', '0', `${POD}/again`]).code).toBe(0);
    expect(nsbox(root, ['start', `${POD}/again`]).stdout).toBe(`${POD}/again\n`);
    expect(record('again').state).toBe('running');
    // The container's own writes survive: the second run counts two lines.
    await waitFor(() => nsbox(root, ['logs', `${POD}/again`]).stdout === '1\n2\n', 5000, 'the second run');
    expect(nsbox(root, ['rm', '-f', `${POD}/again`]).code).toBe(0);
  });

  it('honours --user, --read-only, --env-file and refuses duplicate names', () => {
    const envFile = join(root, 'env.list');
    writeFileSync(envFile, '# comment\nFROM_FILE=yes\n\n');
    const r = run('--name', 'who', '--user', '33:33', '--env-file', envFile, 'busybox', 'sh', '-c', 'id -u; id -g; echo $FROM_FILE');
    expect(r.stdout).toBe('33\n33\nyes\n');
    const ro = run('--name', 'ro', '--read-only', 'busybox', 'sh', '-c', 'touch /x 2>/dev/null || echo ro-root; touch /tmp/y && echo tmp-ok');
    expect(ro.stdout).toBe('ro-root\ntmp-ok\n');
    const dup = run('--name', 'who', 'busybox', 'true');
    expect(dup.code).toBe(125);
    expect(dup.stderr).toMatch(/already exists/);
  });

  it('runs straight from a tarball path', () => {
    const r = run('--name', 'from-tar', tarball, 'cat', '/srv/hello.txt');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('hello from the image\n');
  });
});

describe(`images in use (${testMode})`, () => {
  it('refuses image rm while a container uses the image, and allows it afterwards', () => {
    expect(nsbox(root, ['image', 'import', tarball, '--name', 'inuse']).code).toBe(0);
    // same content as busybox: same id; use a distinct name to check the refusal names the container
    expect(run('-d', '--name', 'user-of-image', 'inuse', 'sleep', '1000').code).toBe(0);
    const refused = nsbox(root, ['image', 'rm', '-f', 'inuse']);
    expect(refused.code).toBe(125);
    expect(refused.stderr).toMatch(/is used by containers? .*ctr\/user-of-image/);
    expect(nsbox(root, ['rm', '-f', `${POD}/user-of-image`]).code).toBe(0);
  });
});

describe(`copy fallback (${testMode})`, () => {
  it('runs from a copy of the layers where overlayfs is not used (NSBOX_ROOTFS=copy)', () => {
    const env = { ...process.env, NSBOX_ROOTFS: 'copy' };
    expect(nsbox(root, ['pod', 'create', '--name', 'ctr-copy'], { env }).code).toBe(0);
    try {
      const r = nsbox(root, ['run', '--pod', 'ctr-copy', '--name', 'copied', '--user', '33:33', 'busybox', 'sh', '-c', 'cat /srv/hello.txt; id -u; echo x > /tmp/x && cat /tmp/x']);
      expect(r.stdout, r.stderr).toBe('hello from the image\n33\nx\n');
      const ps = JSON.parse(nsbox(root, ['ps', '-a', '--pod', 'ctr-copy', '--format', 'json']).stdout) as { rootfs: string }[];
      expect(ps.map((c) => c.rootfs)).toEqual(['copy']);
    } finally {
      expect(nsbox(root, ['pod', 'rm', '-f', 'ctr-copy']).code).toBe(0);
    }
  });
});

describe(`pods with containers (${testMode})`, () => {
  it('pod stop ends its containers in order and records them; pod rm -f leaves no process or file', async () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'ctr-stop']).code).toBe(0);
    expect(nsbox(root, ['run', '-d', '--pod', 'ctr-stop', '--name', 'a', 'busybox', 'sh', '-c', 'trap "echo bye; exit 0" TERM; while true; do sleep 0.05; done']).code).toBe(0);
    expect(nsbox(root, ['run', '-d', '--pod', 'ctr-stop', '--name', 'b', 'busybox', 'sleep', '4242']).code).toBe(0);
    await waitFor(() => processesMentioning('sleep 4242').length >= 1, 5000, 'the sleep to run');
    expect(nsbox(root, ['pod', 'stop', '-t', '5', 'ctr-stop']).code).toBe(0);
    const ps = JSON.parse(nsbox(root, ['ps', '-a', '--pod', 'ctr-stop', '--format', 'json']).stdout) as { name: string; state: string; exitCode: number }[];
    expect(ps.map((c) => [c.name, c.state, c.exitCode])).toEqual([
      ['a', 'exited', 0],
      ['b', 'exited', 143],
    ]);
    expect(nsbox(root, ['logs', 'ctr-stop/a']).stdout).toBe('bye\n');
    expect(processesMentioning('sleep 4242')).toEqual([]);
    expect(nsbox(root, ['pod', 'rm', 'ctr-stop']).code).toBe(0);
    expect(nsbox(root, ['ps', '-a', '--pod', 'ctr-stop']).code).toBe(125);
  });

  it('pod rm -f with running containers kills them and removes their files', async () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'ctr-rm']).code).toBe(0);
    const id = nsbox(root, ['pod', 'inspect', 'ctr-rm']).stdout;
    expect(nsbox(root, ['run', '-d', '--pod', 'ctr-rm', '--name', 'writer', '--user', '33', 'busybox', 'sh', '-c', 'echo x > /tmp/owned-by-33; exec sleep 4343']).code).toBe(0);
    await waitFor(() => processesMentioning('sleep 4343').length >= 1, 5000, 'the sleep to run');
    expect(nsbox(root, ['pod', 'rm', '-f', 'ctr-rm']).code).toBe(0);
    await waitFor(() => processesMentioning('sleep 4343').length === 0, 5000, 'the sleep to die');
    expect(podDirs(root)).not.toContain(JSON.parse(id).id);
  });
});
