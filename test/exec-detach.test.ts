// `exec -d`, docker's: the command is left running in the background (stdio
// on /dev/null) and the CLI returns at once; its parent becomes the pod's
// PID 1, which reaps it, so it never lingers as a zombie; a command that
// cannot be run still fails with 127, in one line.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { importImage } from './helpers/images.js';
import { isOneLineRefusal } from './helpers/cli-process.js';
import { nsbox, removeAllPods, waitFor } from './helpers/nsbox.js';

let root: string;
const POD = 'detach';

beforeAll(() => {
  root = tempRoot();
  importImage(root, 'busybox');
  expect(nsbox(root, ['pod', 'create', '--name', POD]).code).toBe(0);
  expect(nsbox(root, ['run', '-d', '--pod', POD, '--name', 'c', 'busybox', 'sleep', '600']).code).toBe(0);
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

const inC = (...argv: string[]) => nsbox(root, ['exec', '--join', 'c', POD, '--', ...argv]);
const psRows = () => inC('ps', '-o', 'pid,ppid,stat,args').stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));

describe(`exec -d (${testMode})`, () => {
  it('returns at once while the command runs on; the pod reaps it, leaving no zombie', async () => {
    const r = nsbox(root, ['exec', '-d', '--join', 'c', POD, '--', 'sh', '-c', 'sleep 2; touch /tmp/done; echo not-shown']);
    expect(r.code, r.stderr).toBe(0);
    expect([r.stdout, r.stderr]).toEqual(['', '']);
    expect(inC('test', '-e', '/tmp/done').code).toBe(1); // still running: the CLI did not wait
    const sh = psRows().find((p) => p.slice(3).join(' ').startsWith('sh -c sleep 2'));
    expect(sh?.[1]).toBe('1'); // its parent is the pod's PID 1
    await waitFor(() => inC('test', '-e', '/tmp/done').code === 0, 15_000, 'the detached command to finish');
    await waitFor(() => !psRows().some((p) => p[2]?.startsWith('Z') || p.slice(3).join(' ').includes('sleep 2')), 5_000, 'it to be reaped');
    expect(psRows().filter((p) => p[2]?.startsWith('Z'))).toEqual([]);
  });

  it('into the pod itself too; a command that does not exist is 127 in one line; -d with -i or -t is refused', () => {
    expect(nsbox(root, ['exec', '-d', POD, '--', 'sleep', '1']).code).toBe(0);
    const missing = nsbox(root, ['exec', '-d', '--join', 'c', POD, '--', '/no/such/program']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/^nsbox: [^\n]*no such file or directory\n$/);
    expect(nsbox(root, ['exec', '-d', POD, '--', '/no/such/program']).code).toBe(127);
    for (const flag of ['-i', '-t']) {
      const r = nsbox(root, ['exec', '-d', flag, POD, '--', 'true']);
      expect(r.code).toBe(125);
      expect(isOneLineRefusal(r)).toBe(true);
    }
  });
});
