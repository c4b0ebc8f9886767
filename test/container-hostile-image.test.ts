// An image whose /etc, /dev and /proc are symlinks to host paths: setting up
// the container must resolve them inside the container's root (after
// pivot_root), never on the host.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTar, type TarEntry } from './helpers/archives.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { nsbox, removeAllPods } from './helpers/nsbox.js';

let root: string;
let outside: string;

beforeAll(() => {
  root = tempRoot();
  outside = join(root, 'host-side');
  mkdirSync(outside);
  writeFileSync(join(outside, 'precious'), 'untouched\n');
  const entries: TarEntry[] = [
    { path: 'bin/', type: 'dir', mode: 0o755 },
    { path: 'bin/busybox', content: readFileSync('/bin/busybox'), mode: 0o755 },
    { path: 'bin/sh', type: 'symlink', linkpath: 'busybox' },
    { path: 'bin/cat', type: 'symlink', linkpath: 'busybox' },
    { path: 'bin/ls', type: 'symlink', linkpath: 'busybox' },
    // Absolute symlinks are legal in images (they resolve inside the container).
    { path: 'etc', type: 'symlink', linkpath: outside },
    { path: 'dev', type: 'symlink', linkpath: outside },
    { path: 'tmp', type: 'symlink', linkpath: `${outside}/tmp` },
    { path: 'srv/', type: 'dir', mode: 0o755 },
    { path: 'srv/hosts-link', type: 'symlink', linkpath: `${outside}/precious` },
  ];
  const tar = writeTar(join(root, 'hostile.tar'), entries);
  expect(nsbox(root, ['image', 'import', tar, '--name', 'hostile']).code).toBe(0);
  expect(nsbox(root, ['pod', 'create', '--name', 'h']).code).toBe(0);
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

describe(`hostile image symlinks (${testMode})`, () => {
  it('refuses to set up a container whose /dev and /etc point at host paths, touching nothing on the host', () => {
    const r = nsbox(root, ['run', '--pod', 'h', '--name', 'c', 'hostile', 'sh', '-c', 'cat /etc/hostname']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^nsbox: (mount .* on \/dev|mkdir \/dev): E[A-Z]+/);
    // Nothing appeared next to the host file the image pointed at.
    expect(readdirSync(outside).sort()).toEqual(['precious']);
    expect(readFileSync(join(outside, 'precious'), 'utf8')).toBe('untouched\n');
    expect(existsSync(join(outside, 'hosts'))).toBe(false);
  });

  it('resolves an image /etc/hosts symlink inside the container: its host target is never reached', () => {
    const entries: TarEntry[] = [
      { path: 'bin/', type: 'dir', mode: 0o755 },
      { path: 'bin/busybox', content: readFileSync('/bin/busybox'), mode: 0o755 },
      { path: 'bin/cat', type: 'symlink', linkpath: 'busybox' },
      { path: 'etc/', type: 'dir', mode: 0o755 },
      { path: 'etc/hosts', type: 'symlink', linkpath: `${outside}/precious` },
      { path: 'srv/', type: 'dir', mode: 0o755 },
    ];
    const tar = writeTar(join(root, 'links.tar'), entries);
    const r = nsbox(root, ['run', '--pod', 'h', '--name', 'links', tar, 'cat', '/etc/hosts']);
    // /etc/hosts points at a host path that does not exist inside: a clear failure, host untouched.
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^nsbox: creating \/etc\/hosts: ENOENT/m);
    expect(readFileSync(join(outside, 'precious'), 'utf8')).toBe('untouched\n');
  });
});
