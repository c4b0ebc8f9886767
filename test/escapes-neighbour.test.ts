// Setup never follows an image's link into another container of the pod.
// The pause's empty root takes the host out of /proc/1/root, but every
// container's /proc/<pid>/root leads into that container, and setup holds
// the capabilities to write there: only resolving inside the root, with
// /proc magic links refused, keeps a hostile image out of its neighbours.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podProcesses } from './helpers/cli-process.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { HELLO, importImage } from './helpers/images.js';
import { nsbox, removeAllPods } from './helpers/nsbox.js';

let root: string;
const POD = 'nb';

/** What the neighbour container has in /srv, seen from inside it. */
const neighbourSrv = () => nsbox(root, ['exec', '--join', 'victim', POD, '--', 'ls', '-A', '/srv']).stdout.trim().split('\n');

beforeAll(() => {
  root = tempRoot();
  importImage(root, 'busybox');
  expect(nsbox(root, ['pod', 'create', '--name', POD]).code).toBe(0);
  expect(nsbox(root, ['run', '-d', '--pod', POD, '--name', 'victim', 'busybox', 'sleep', '1000']).code).toBe(0);
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

describe(`an image's links never lead setup into a neighbour container (${testMode})`, () => {
  for (const [link, runArgs] of [
    ['etc', []],
    ['var', ['--read-only']],
  ] as const) {
    it(`${link} -> /proc/<neighbour>/root/srv ${runArgs.join(' ')}`, () => {
      const victim = podProcesses(root, POD).find((p) => p.args === 'sleep 1000');
      expect(victim, 'the neighbour runs').toBeDefined();
      // Positive controls: the neighbour's /srv holds the image's file, and our probe can reach it there.
      expect(neighbourSrv()).toEqual(['hello.txt']);
      const reach = nsbox(root, ['run', '--pod', POD, '--cap-add', 'SYS_PTRACE', 'busybox', 'cat', `/proc/${victim!.pid}/root/srv/hello.txt`]);
      expect(reach.stdout).toBe(HELLO);
      const image = importImage(root, `into-${link}`, [{ path: link, type: 'symlink', linkpath: `/proc/${victim!.pid}/root/srv` }]);
      const r = nsbox(root, ['run', '--pod', POD, ...runArgs, image, 'true']);
      expect(r.code, r.stderr).toBe(125);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/ELOOP/);
      // Nothing appeared in the neighbour.
      expect(neighbourSrv()).toEqual(['hello.txt']);
    });
  }
});
