// exec -u: a command joined to a container runs as the given user (numbers,
// or a name from the container's image), and one joined to the pause too;
// ids the pod does not map are refused in one line, before anything runs.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testMode } from './helpers/env.js';
import { setUpPodRoot, tearDownPodRoot } from './helpers/pod-root.js';
import { nsbox } from './helpers/nsbox.js';

const POD = 'eu';
let root: string;

beforeAll(() => {
  root = setUpPodRoot(POD);
  expect(nsbox(root, ['run', '-d', '--pod', POD, '--name', 'c', 'busybox', 'sleep', '600']).code).toBe(0);
});
afterAll(() => tearDownPodRoot(root));

const ids = (...args: string[]) => nsbox(root, ['exec', ...args, POD, '--', 'sh', '-c', 'echo $(id -u):$(id -g)']);

describe(`exec -u (${testMode})`, () => {
  it('runs a container exec as the container\'s user by default (the control), and as -u says', () => {
    expect(ids('--join', 'c').stdout).toBe('0:0\n');
    expect(ids('--join', 'c', '-u', '33:33').stdout).toBe('33:33\n');
    expect(ids('--join', 'c', '-u', 'www-data').stdout).toBe('33:33\n');
    expect(ids('--join', 'c', '-u', '1000').stdout).toBe('1000:1000\n');
  });

  it('runs a host program joined to the pause as -u says', () => {
    const r = nsbox(root, ['exec', '-u', '1000:1001', POD, '--', 'id', '-u']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('1000\n');
    expect(nsbox(root, ['exec', POD, '--', 'id', '-u']).stdout).toBe('0\n');
  });

  it('takes --env-file as run does (-e wins over the file)', () => {
    const file = join(root, 'exec.env');
    writeFileSync(file, '# a comment\nGREETING=from-file\nOTHER=x\n');
    const r = nsbox(root, ['exec', '--join', 'c', '--env-file', file, '-e', 'OTHER=flag', POD, '--', 'sh', '-c', 'echo $GREETING $OTHER']);
    expect([r.code, r.stdout]).toEqual([0, 'from-file flag\n']);
  });

  it('refuses a name the image does not have and ids the pod does not map, in one line', () => {
    for (const [user, message] of [
      ['nosuchuser', /user "nosuchuser" is not in the image's \/etc\/passwd/],
      ['4294967295', /ids go up to 4294967294/],
    ] as const) {
      const r = ids('--join', 'c', '-u', user);
      expect(r.code, r.stderr).toBe(125);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    if (testMode === 'rootless') {
      const unmapped = nsbox(root, ['exec', '-u', '70000', POD, '--', 'true']);
      expect(unmapped.code).toBe(125);
      expect(unmapped.stderr).toMatch(/70000.*not mapped|not mapped.*70000|mapped/);
    }
  });
});
