// What an exec of a host program (`nsbox exec POD`, `--join pause`) sees of
// the host: the system directories, read-only, and its own /proc, /sys, /dev,
// /tmp; nothing else. A program outside that view runs from the file nsbox
// opened, without its directory showing. As root, the view is locked: even a
// container with every capability that enters the exec's mount namespace
// cannot make it writable.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifacts } from '../dist/native/artifacts.js';
import { importBusybox } from './helpers/busybox.js';
import { cleanupRoot, cliPath, tempRoot, testMode } from './helpers/env.js';
import { nsbox, removeAllPods, waitFor } from './helpers/nsbox.js';

let root: string;
let canaryDir: string;
const CANARY = 'exec-view-canary-7f3a';

beforeAll(async () => {
  root = tempRoot();
  await importBusybox(root);
  canaryDir = join(root, 'host-side');
  mkdirSync(canaryDir);
  writeFileSync(join(canaryDir, 'private-file'), `${CANARY}\n`, { mode: 0o600 });
  expect(nsbox(root, ['pod', 'create', '--name', 'view']).code).toBe(0);
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

describe(`exec of a host program (${testMode})`, () => {
  it('sees the system directories read-only and nothing else of the host', () => {
    // Positive control: the host side has the canary, readable by us.
    expect(readFileSync(join(canaryDir, 'private-file'), 'utf8')).toContain(CANARY);
    const r = nsbox(root, ['exec', 'view', '--', 'sh', '-c', `ls /; echo ---; cat /etc/os-release >/dev/null && echo etc-readable; touch /usr/x 2>/dev/null || echo usr-ro; touch /etc/x 2>/dev/null || echo etc-ro; touch /tmp/x && echo own-tmp; cat ${canaryDir}/private-file 2>&1; ls ${root} 2>&1; echo done`]);
    expect(r.stdout).toMatch(/done\n$/);
    const top = r.stdout.slice(0, r.stdout.indexOf('---\n')).split('\n').filter(Boolean);
    expect(top.filter((d) => !['bin', 'dev', 'etc', 'lib', 'lib32', 'lib64', 'libx32', 'proc', 'root', 'run', 'sbin', 'sys', 'tmp', 'usr'].includes(d))).toEqual([]);
    expect(top).toEqual(expect.arrayContaining(['usr', 'etc', 'proc', 'tmp']));
    expect(r.stdout).toContain('etc-readable');
    expect(r.stdout).toContain('usr-ro');
    expect(r.stdout).toContain('etc-ro');
    expect(r.stdout).toContain('own-tmp');
    expect(r.stdout).not.toContain(CANARY);
    expect(r.stdout).toMatch(/No such file or directory/);
  });

  it('runs a program outside the view from its file, without its directory becoming visible', () => {
    // The probe lives in this checkout, outside the view.
    const r = nsbox(root, ['exec', 'view', '--', artifacts.probe, 'exit', '7']);
    expect(r.code).toBe(7);
    const ls = nsbox(root, ['exec', 'view', '--', 'ls', dirname(artifacts.probe)]);
    expect(ls.code).not.toBe(0);
    expect(ls.stderr).toMatch(/No such file or directory/);
  });

  it.runIf(testMode === 'root')('as root, a container with every capability cannot make the view of a concurrent exec writable', async () => {
    const sleeper = spawn(process.execPath, [cliPath, '--root', root, 'exec', 'view', '--', 'sleep', '30'], { stdio: 'ignore' });
    try {
      // Find the exec from inside the pod, then enter its mount namespace from a container holding ALL.
      const script = [
        'for p in /proc/[0-9]*; do c=$(tr "\\0" " " < $p/cmdline 2>/dev/null); case "$c" in "sleep 30 "*) pid=${p#/proc/};; esac; done',
        'test -n "$pid" || { echo no-exec; exit 3; }',
        // Positive control: we are in its mount namespace and see its view.
        'nsenter -t $pid -m sh -c "test -d /usr/bin && echo in-view; mount -o remount,bind,rw /usr 2>/dev/null && echo remounted; touch /usr/nsbox-x 2>/dev/null && echo wrote"',
      ].join('; ');
      let out = '';
      await waitFor(() => {
        out = nsbox(root, ['run', '--pod', 'view', '--cap-add', 'ALL', 'busybox', 'sh', '-c', script]).stdout;
        return !out.includes('no-exec');
      }, 10_000, 'the exec to show in the pod');
      expect(out).toContain('in-view');
      expect(out).not.toContain('remounted');
      expect(out).not.toContain('wrote');
    } finally {
      sleeper.kill('SIGKILL');
      // Only there if the lock is broken (the test then fails): leave the host as it was.
      rmSync('/usr/nsbox-x', { force: true });
    }
  });
});
