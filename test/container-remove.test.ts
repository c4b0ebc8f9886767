// Removing a container removes all of its files, whatever its processes
// left in its root: a tree deeper than a recursive walk's stack, and files
// of other ids; its name is free again at once.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testMode } from './helpers/env.js';
import { setUpPodRoot, tearDownPodRoot } from './helpers/pod-root.js';
import { nsbox } from './helpers/nsbox.js';

let root: string;
const POD = 'rmv';

beforeAll(() => {
  root = setUpPodRoot(POD);
});
afterAll(() => tearDownPodRoot(root));

describe(`container removal (${testMode})`, () => {
  it('removes a 3000-level-deep tree and files of another uid, and frees the name', () => {
    const made = nsbox(root, ['run', '--pod', POD, '--name', 'deep', 'busybox', 'sh', '-c', 'touch /tmp/nobodys && chown 65534:65534 /tmp/nobodys && echo made']);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toBe('made\n');
    const [pod] = JSON.parse(nsbox(root, ['pod', 'ls', '--format', 'json']).stdout) as { id: string }[];
    const containers = join(root, 'pods', pod!.id, 'containers');
    // What a container's process could leave in its root: a tree deeper than any path (made with relative chdirs).
    const deepen = spawnSync(process.execPath, ['-e', "const fs = require('fs'); for (let i = 0; i < 3000; i++) { fs.mkdirSync('d'); process.chdir('d'); } console.log('deep')"], {
      cwd: join(containers, 'deep', 'upper', 'tmp'),
      encoding: 'utf8',
    });
    expect(deepen.stdout, deepen.stderr).toBe('deep\n');
    const r = nsbox(root, ['rm', `${POD}/deep`]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(containers)).not.toContain('deep');
    // The name is free again.
    expect(nsbox(root, ['run', '--pod', POD, '--name', 'deep', 'busybox', 'true']).code).toBe(0);
  });
});
