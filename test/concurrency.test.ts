// Concurrent CLI calls on one state root (issue 6): pod creates in parallel,
// a race for one name, and runs racing a pod rm. The state lock serialises
// what must be serial; nothing may be half-written afterwards.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBusybox } from './helpers/busybox.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { isGoneOrZombie, nsbox, nsboxAsync, podDirs, removeAllPods } from './helpers/nsbox.js';

let root: string;

beforeAll(async () => {
  root = tempRoot();
  await importBusybox(root);
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

interface PodJson {
  name: string;
  status: string;
  pausePid: number;
}
const pods = () => JSON.parse(nsbox(root, ['pod', 'ls', '--format', 'json']).stdout) as PodJson[];

describe(`concurrency (${testMode})`, () => {
  it('20 parallel pod creates with distinct names all succeed', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `par-${i}`);
    const results = await Promise.all(names.map((n) => nsboxAsync(root, ['pod', 'create', '--name', n])));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const listed = pods().filter((p) => p.name.startsWith('par-'));
    expect(listed.map((p) => p.name).sort()).toEqual([...names].sort());
    expect(listed.every((p) => p.status === 'running')).toBe(true);
    const rm = nsbox(root, ['pod', 'rm', '-f', ...names]);
    expect(rm.code, rm.stderr).toBe(0);
    for (const p of listed) expect(isGoneOrZombie(p.pausePid)).toBe(true);
  }, 60_000);

  it('with one shared name, exactly one create wins and the others get a clear error', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => nsboxAsync(root, ['pod', 'create', '--name', 'contested'])));
    const winners = results.filter((r) => r.code === 0);
    expect(winners).toHaveLength(1);
    for (const r of results.filter((x) => x.code !== 0)) {
      expect(r.code).toBe(125);
      expect(r.stderr.trim()).toMatch(/^nsbox: a pod named contested already exists: choose another name or remove it with `nsbox pod rm -f contested`$/);
    }
    expect(pods().filter((p) => p.name === 'contested')).toHaveLength(1);
    expect(nsbox(root, ['pod', 'rm', '-f', 'contested']).code).toBe(0);
  }, 60_000);

  it('runs racing a pod rm -f never leave corrupt or half-made state', async () => {
    for (let round = 0; round < 3; round++) {
      expect(nsbox(root, ['pod', 'create', '--name', 'race']).code).toBe(0);
      const pause = pods().find((p) => p.name === 'race')!.pausePid;
      const runs = Array.from({ length: 6 }, (_, i) => nsboxAsync(root, ['run', '-d', '--pod', 'race', '--name', `c${i}`, 'busybox', 'sleep', '60']));
      await new Promise((r) => setTimeout(r, 30 * round));
      const rm = nsboxAsync(root, ['pod', 'rm', '-f', 'race']);
      const [rmResult, ...runResults] = await Promise.all([rm, ...runs]);
      expect(rmResult.code, rmResult.stderr).toBe(0);
      // Each run either made its container before the pod went, or failed with one line.
      for (const r of runResults) {
        if (r.code !== 0) {
          expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
          expect(r.stderr).toMatch(/^nsbox: /);
        }
      }
      // Afterwards: the pod and everything in it are gone, and the state reads cleanly.
      expect(isGoneOrZombie(pause)).toBe(true);
      expect(pods().find((p) => p.name === 'race')).toBeUndefined();
      expect(podDirs(root)).toEqual([]);
      expect(JSON.parse(nsbox(root, ['ps', '-a', '--format', 'json']).stdout)).toEqual([]);
      expect(readdirSync(root).filter((f) => f.startsWith('.tmp') || f.endsWith('.tmp'))).toEqual([]);
      expect(readdirSync(join(root))).toContain('pods');
    }
  }, 90_000);
});
