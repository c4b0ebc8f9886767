// Bad input: one clear line naming the problem and the fix, a non-zero exit,
// and nothing left behind.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupRoot, cliPath, repoRoot, tempRoot, testMode } from './helpers/env.js';
import { importBusybox } from './helpers/busybox.js';
import { leftoverProcesses } from './helpers/leftovers.js';
import { nsbox, podDirs, removeAllPods } from './helpers/nsbox.js';

let root: string;
beforeAll(() => {
  root = tempRoot();
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

function expectOneLineError(r: { code: number; stderr: string }, pattern: RegExp): void {
  expect(r.code).not.toBe(0);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^nsbox: /);
  expect(lines[0]).toMatch(pattern);
}

describe(`bad input (${testMode})`, () => {
  it('an unknown pod', () => {
    expectOneLineError(nsbox(root, ['exec', 'ghost-pod', '--', 'true']), /no such pod: ghost-pod.*nsbox pod ls/);
    expectOneLineError(nsbox(root, ['pod', 'rm', '-f', 'ghost-pod']), /no such pod/);
    expectOneLineError(nsbox(root, ['pod', 'stop', 'ghost-pod']), /no such pod/);
    expectOneLineError(nsbox(root, ['pod', 'inspect', 'ghost-pod']), /no such pod/);
  });

  it('invalid names and hostnames', () => {
    for (const bad of ['bad/name', '../up', '-dash', 'white space', 'x'.repeat(64)]) {
      expectOneLineError(nsbox(root, ['pod', 'create', '--name', bad]), /invalid pod name/);
    }
    expectOneLineError(nsbox(root, ['pod', 'create', '--name', 'okname', '--hostname', 'bad_host!']), /invalid hostname/);
    expect(podDirs(root)).toEqual([]);
  });

  it('a duplicate name leaves the first pod untouched', () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'dup']).code).toBe(0);
    try {
      expectOneLineError(nsbox(root, ['pod', 'create', '--name', 'dup']), /a pod named dup already exists/);
      const pods = JSON.parse(nsbox(root, ['pod', 'ls', '--format', 'json']).stdout) as { name: string; status: string }[];
      expect(pods.filter((p) => p.name === 'dup')).toHaveLength(1);
      expect(pods[0]!.status).toBe('running');
    } finally {
      nsbox(root, ['pod', 'rm', '-f', 'dup']);
    }
  });

  it('a huge environment, and container names with / or ..', async () => {
    await importBusybox(root);
    expect(nsbox(root, ['pod', 'create', '--name', 'envpod']).code).toBe(0);
    try {
      // 3 MB of variables: more than exec(2) takes.
      const envFile = join(root, 'huge.env');
      writeFileSync(envFile, Array.from({ length: 3000 }, (_, i) => `V${i}=${'a'.repeat(1000)}`).join('\n'));
      const r = nsbox(root, ['run', '--pod', 'envpod', '--name', 'huge', '--env-file', envFile, 'busybox', 'true']);
      expect(r.code).toBe(126);
      expectOneLineError(r, /arguments and environment too large \(E2BIG\): pass fewer or smaller -e\/--env-file values/);
      for (const bad of ['a/b', '../evil', '..']) expectOneLineError(nsbox(root, ['run', '--pod', 'envpod', '--name', bad, 'busybox', 'true']), /invalid container name/);
      expect(nsbox(root, ['ps', '-a', '-q']).stdout).toBe('envpod/huge\n');
    } finally {
      nsbox(root, ['pod', 'rm', '-f', 'envpod']);
    }
    expect(podDirs(root)).toEqual([]);
  });

  it('malformed arguments', () => {
    expectOneLineError(nsbox(root, ['pod', 'stop', '-t', 'soon', 'x']), /invalid value for -t/);
    expectOneLineError(nsbox(root, ['pod', 'ls', '--format', 'yaml']), /unknown format/);
    expectOneLineError(nsbox(root, ['pod', 'frobnicate']), /unknown command/);
    expect(nsbox(root, ['exec']).code).not.toBe(0);
  });

  it('a machine without user namespaces (user.max_user_namespaces=0)', async () => {
    // A nested user namespace whose limit is 0 is a real machine without
    // them, as far as nsbox can tell, and needs no host sysctl change.
    const env = { ...process.env, NSBOX_ROOT: root };
    const r = spawnSync(
      'unshare',
      ['-U', '-r', '--fork', 'sh', '-c', `echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" "$@"`, process.execPath, cliPath, 'pod', 'create', '--name', 'no-userns'],
      { encoding: 'utf8', env },
    );
    expectOneLineError({ code: r.status ?? 1, stderr: r.stderr }, /clone of the pod process: ENOSPC.*user\.max_user_namespaces/);
    expect(podDirs(root)).toEqual([]);
    expect(await leftoverProcesses(root)).toEqual([]);
  });

  it.runIf(testMode === 'root')('a user without subuid ranges gets a one-line warning and a single-id pod (root mode: runs as nobody)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsbox-nobody-'));
    chmodSync(dir, 0o755);
    const nobodyRoot = join(dir, 'state');
    // CI's checkout may be unreadable for nobody: run a copy of the built CLI.
    const install = join(dir, 'nsbox');
    for (const part of ['package.json', 'dist', 'native-shims/build', 'node_modules/commander', 'node_modules/ffi-rs', 'node_modules/@yuuang']) {
      cpSync(join(repoRoot, part), join(install, part), { recursive: true });
    }
    try {
      chownSync(dir, 65534, 65534);
      const run = (...args: string[]) =>
        spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, join(install, 'dist/cli/main.js'), '--root', nobodyRoot, ...args], { encoding: 'utf8', cwd: '/' });
      const created = run('pod', 'create', '--name', 'single');
      expect(created.status, created.stderr).toBe(0);
      const warning = created.stderr.trim().split('\n');
      expect(warning).toHaveLength(1);
      expect(warning[0]).toMatch(/warning: only uid 65534 is mapped.*\/etc\/subuid.*nginx/);
      const map = run('exec', 'single', '--', 'cat', '/proc/self/uid_map');
      expect(map.stdout.trim().split(/\s+/)).toEqual(['0', '65534', '1']);
      expect(run('pod', 'rm', '-f', 'single').status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.runIf(testMode === 'rootless')('rootless with a subuid range maps the whole range (no warning)', () => {
    const r = nsbox(root, ['pod', 'create', '--name', 'ranged']);
    try {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      const map = nsbox(root, ['exec', 'ranged', '--', 'cat', '/proc/self/uid_map']).stdout.trim().split('\n');
      expect(map).toHaveLength(2);
      expect(Number(map[1]!.trim().split(/\s+/)[2])).toBeGreaterThan(1000);
    } finally {
      nsbox(root, ['pod', 'rm', '-f', 'ranged']);
    }
  });
});
