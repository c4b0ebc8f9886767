// The state lock without ffi-rs: a CLI call that changes state takes the
// lock through the small flock addon (native-shims/flock-addon.c), so run -d
// and pod rm -f load no FFI addon (pod create, which spawns the pod through
// the shim, is the control that the record sees one). A lock someone holds
// is still waited for: the call goes on only once it is released.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withStateLock } from '../dist/state/lock.js';
import { flockNow } from '../dist/native/flock-addon.js';
import { cliPath, testMode } from './helpers/env.js';
import { setUpPodRoot, tearDownPodRoot } from './helpers/pod-root.js';
import { nsbox } from './helpers/nsbox.js';
import { ffiRecorder } from './helpers/ffi-record.js';

let root = '';
let loadsFfi: ReturnType<typeof ffiRecorder>;
beforeAll(() => {
  root = setUpPodRoot('locked');
  loadsFfi = ffiRecorder(root);
});
afterAll(() => tearDownPodRoot(root));

describe(`the state lock (${testMode})`, () => {
  it('run -d and pod rm -f take it without loading ffi-rs; pod create loads it (the control)', () => {
    const created = loadsFfi(['pod', 'create', '--name', 'lock-a']);
    expect([created.code, created.ffi], created.stderr).toEqual([0, true]);
    // The first container of a data root compiles its seccomp program with libseccomp, through ffi-rs; later ones find it cached.
    expect(nsbox(root, ['run', '--rm', '--pod', 'lock-a', 'busybox', 'true']).code).toBe(0);
    const ran = loadsFfi(['run', '-d', '--pod', 'lock-a', '--name', 'c', 'busybox', 'sleep', '600']);
    expect([ran.code, ran.ffi], ran.stderr).toEqual([0, false]);
    const removed = loadsFfi(['pod', 'rm', '-f', 'lock-a']);
    expect([removed.code, removed.ffi], removed.stderr).toEqual([0, false]);
    expect(nsbox(root, ['pod', 'exists', 'lock-a']).code).toBe(1);
  });

  it('the addon refuses a request that would wait (it would stop the event loop), and takes a free lock at once', () => {
    const fd = openSync(join(root, 'addon.lock'), 'a');
    try {
      expect(flockNow(fd, 2)).toBe(-22); // LOCK_EX alone: EINVAL
      expect(flockNow(fd, 2 | 4)).toBe(0); // LOCK_EX | LOCK_NB
      // A second open file description of it is refused while the first holds it: EWOULDBLOCK, not a wait.
      const other = openSync(join(root, 'addon.lock'), 'a');
      try {
        expect(flockNow(other, 2 | 4)).toBe(-11);
      } finally {
        closeSync(other);
      }
      expect(flockNow(fd, 8)).toBe(0); // LOCK_UN
    } finally {
      closeSync(fd);
    }
  });

  it('a call waits while another holds the lock, and goes on once it is released', async () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'lock-b']).code).toBe(0);
    let exited: Promise<number | null> = Promise.resolve(null);
    let done = false;
    const holding = withStateLock(root, async () => {
      const child = spawn(process.execPath, [cliPath, '--root', root, 'pod', 'rm', '-f', 'lock-b'], { stdio: 'ignore' });
      exited = new Promise((r) => child.once('exit', (code) => ((done = true), r(code))));
      await new Promise((r) => setTimeout(r, 1500));
      // Still waiting: the lock is ours.
      expect(done).toBe(false);
      expect(nsbox(root, ['pod', 'exists', 'lock-b']).code).toBe(0);
    });
    await holding;
    expect(await exited).toBe(0);
    expect(nsbox(root, ['pod', 'exists', 'lock-b']).code).toBe(1);
  });
});
