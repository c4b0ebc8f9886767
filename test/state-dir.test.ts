// The state directory holds the pods' records and keeper sockets: nsbox
// refuses one that another user could read or swap, with a one-line error,
// and leaves it as it was.
import { chmodSync, chownSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { nsbox } from './helpers/nsbox.js';
import { importBusybox } from './helpers/busybox.js';

let base: string;

beforeAll(() => {
  base = tempRoot();
});
afterAll(() => cleanupRoot(base));

describe(`the state directory (${testMode})`, () => {
  it('is used when it is ours and mode 0700 (the positive control)', () => {
    const dir = join(base, 'good');
    mkdirSync(dir, { mode: 0o700 });
    const r = nsbox(dir, ['pod', 'create', '--name', 'ok']);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(dir)).toContain('pods');
    expect(nsbox(dir, ['pod', 'rm', '-f', 'ok']).code).toBe(0);
  });

  it('may be deeper than a unix socket path allows: the keeper is still reached (run, logs, stop go through it)', async () => {
    const dir = join(base, 'd'.repeat(80));
    mkdirSync(dir, { mode: 0o700 });
    // The keeper's socket: DIR/pods/<64 hex>/keeper.sock, past the 107 bytes a socket path may have.
    expect(Buffer.byteLength(join(dir, 'pods', 'x'.repeat(64), 'keeper.sock'))).toBeGreaterThan(107);
    await importBusybox(dir);
    expect(nsbox(dir, ['pod', 'create', '--name', 'deep']).code).toBe(0);
    try {
      const run = nsbox(dir, ['run', '-d', '--pod', 'deep', '--name', 'c', 'busybox', 'sh', '-c', 'echo deep; sleep 600']);
      expect(run.code, run.stderr).toBe(0);
      const stop = nsbox(dir, ['stop', '-t', '0', 'deep/c']);
      expect(stop.code, stop.stderr).toBe(0);
      expect(nsbox(dir, ['logs', 'deep/c']).stdout).toBe('deep\n');
      expect(JSON.parse(nsbox(dir, ['ps', '-a', '--format', 'json']).stdout)).toMatchObject([{ name: 'c', state: 'exited', exitCode: 137 }]);
    } finally {
      expect(nsbox(dir, ['pod', 'rm', '-f', 'deep']).code).toBe(0);
    }
  });

  it('is refused when other users may open it, and left as it was', () => {
    const dir = join(base, 'open');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    const r = nsbox(dir, ['pod', 'create', '--name', 'x']);
    expect(r.code).toBe(125);
    expect(r.stderr).toBe(`nsbox: state directory ${dir} is accessible to other users (mode 755): chmod 700 ${dir}\n`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('is refused when it is a symlink (someone could point it elsewhere)', () => {
    const target = join(base, 'target');
    mkdirSync(target, { mode: 0o700 });
    const link = join(base, 'link');
    symlinkSync(target, link);
    const r = nsbox(link, ['pod', 'create', '--name', 'x']);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/^nsbox: state directory .*link is not a directory: remove it or choose another with --root\n$/);
    expect(readdirSync(target)).toEqual([]);
  });

  it.runIf(testMode === 'root')('is refused when another user owns it', () => {
    const dir = join(base, 'theirs');
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 65534, 65534);
    const r = nsbox(dir, ['pod', 'create', '--name', 'x']);
    expect(r.code).toBe(125);
    expect(r.stderr).toBe(`nsbox: state directory ${dir} belongs to uid 65534, not 0: set XDG_RUNTIME_DIR for this user or pass --root DIR\n`);
    expect(readdirSync(dir)).toEqual([]);
  });
});
