// The state directory holds the pods' records and supervisor sockets: nsbox
// refuses one that another user could read or swap, with a one-line error,
// and leaves it as it was.
import { chmodSync, chownSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { nsbox } from './helpers/nsbox.js';

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
