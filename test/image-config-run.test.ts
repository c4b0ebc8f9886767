// A multi-layer docker-save image made in the test: `run` honours its
// Entrypoint, Cmd, Env, WorkingDir and User, and sees the layers merged
// with their whiteouts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDockerSave, type TarEntry } from './helpers/archives.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { nsbox, removeAllPods } from './helpers/nsbox.js';

let root: string;

beforeAll(() => {
  root = tempRoot();
  const base: TarEntry[] = [
    { path: 'bin/', type: 'dir', mode: 0o755 },
    { path: 'bin/busybox', content: readFileSync('/bin/busybox'), mode: 0o755 },
    ...['sh', 'echo', 'ls', 'id', 'pwd', 'cat'].map((a) => ({ path: `bin/${a}`, type: 'symlink' as const, linkpath: 'busybox' })),
    { path: 'etc/', type: 'dir', mode: 0o755 },
    { path: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\nwww-data:x:33:33::/var/www:/bin/sh\n', mode: 0o644 },
    { path: 'etc/group', content: 'root:x:0:\nwww-data:x:33:\n', mode: 0o644 },
    { path: 'srv/', type: 'dir', mode: 0o755 },
    { path: 'srv/old.txt', content: 'old\n', mode: 0o644 },
    { path: 'tmp/', type: 'dir', mode: 0o1777 },
  ];
  const app: TarEntry[] = [
    { path: 'app/', type: 'dir', mode: 0o755 },
    { path: 'app/data.txt', content: 'data\n', mode: 0o644 },
    { path: 'srv/', type: 'dir', mode: 0o755 },
    { path: 'srv/.wh.old.txt', content: '' },
    { path: 'srv/new.txt', content: 'new\n', mode: 0o644 },
  ];
  const file = writeDockerSave(join(root, 'app.tar'), [
    {
      layers: [{ entries: base }, { entries: app, gzip: true }],
      config: {
        Entrypoint: ['/bin/sh', '-c'],
        Cmd: ['echo "$GREETING from $(pwd) as $(id -u):$(id -g)"; ls /srv'],
        Env: ['PATH=/bin', 'GREETING=hello'],
        WorkingDir: '/app',
        User: 'www-data',
      },
      repoTags: ['example/app:1.0'],
    },
  ]);
  const imported = nsbox(root, ['image', 'import', file]);
  expect(imported.code, imported.stderr).toBe(0);
  expect(nsbox(root, ['pod', 'create', '--name', 'cfg']).code).toBe(0);
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

describe(`image config in run (${testMode})`, () => {
  it('runs Entrypoint + Cmd with the image Env, WorkingDir and User, over merged layers', () => {
    const r = nsbox(root, ['run', '--pod', 'cfg', '--name', 'default', 'example/app:1.0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('hello from /app as 33:33\nnew.txt\n');
  });

  it('replaces Cmd with the given command and keeps the Entrypoint; flags override the config', () => {
    const r = nsbox(root, ['run', '--pod', 'cfg', '--name', 'override', '-e', 'GREETING=hi', '-w', '/srv', '--user', '0', 'example/app:1.0', 'echo "$GREETING $(pwd) $(id -u)"; cat /app/data.txt']);
    expect(r.stdout).toBe('hi /srv 0\ndata\n');
    const ep = nsbox(root, ['run', '--pod', 'cfg', '--name', 'entry', '--entrypoint', '/bin/echo', 'example/app:1.0', 'plain', 'args']);
    expect(ep.stdout).toBe('plain args\n');
  });

  it('logs --tail shows the last lines', () => {
    expect(nsbox(root, ['run', '--pod', 'cfg', '--name', 'lines', '--user', '0', 'example/app:1.0', 'for i in 1 2 3 4 5; do echo line$i; done']).code).toBe(0);
    expect(nsbox(root, ['logs', '--tail', '2', 'cfg/lines']).stdout).toBe('line4\nline5\n');
    expect(nsbox(root, ['logs', 'cfg/lines']).stdout).toBe('line1\nline2\nline3\nline4\nline5\n');
  });
});
