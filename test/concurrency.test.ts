// Concurrent CLI calls on one state root (issue 6): pod creates in parallel,
// a race for one name, and runs racing a pod rm. The state lock serialises
// what must be serial; nothing may be half-written or left running afterwards.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getPod } from '../dist/index.js';
import { importBusybox } from './helpers/busybox.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { leftoverProcesses, scratchFiles, watchPod, watchPublishingPod } from './helpers/leftovers.js';
import { freePort } from './helpers/net.js';
import { isGoneOrZombie, nsbox, nsboxAsync, nsboxStart, podDirs, removeAllPods, waitFor, type CliResult } from './helpers/nsbox.js';

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
  id: string;
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
    const watches = names.map((n) => watchPod(root, n));
    const rm = nsbox(root, ['pod', 'rm', '-f', ...names]);
    expect(rm.code, rm.stderr).toBe(0);
    for (const p of listed) expect(isGoneOrZombie(p.pausePid)).toBe(true);
    expect(await leftoverProcesses(root, watches)).toEqual([]);
    for (const w of watches) w.close();
    expect(podDirs(root)).toEqual([]);
    expect(scratchFiles(root)).toEqual([]);
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
    // The losers started nothing: one supervisor and one pause are all there is.
    const watch = watchPod(root, 'contested');
    expect(watch.processes.map((p) => p.role).sort()).toEqual(['keeper', 'pause']);
    expect(nsbox(root, ['pod', 'rm', '-f', 'contested']).code).toBe(0);
    expect(await leftoverProcesses(root, [watch])).toEqual([]);
    watch.close();
    expect(scratchFiles(root)).toEqual([]);
  }, 60_000);

  it('runs racing a pod rm -f never leave corrupt or half-made state, and the race goes both ways', async () => {
    const run = (i: number) => nsboxStart(root, ['run', '-d', '--pod', 'race', '--name', `c${i}`, 'busybox', 'sleep', '60']);
    const containersMade = () => {
      const id = pods().find((p) => p.name === 'race')?.id;
      try {
        return id ? readdirSync(join(root, 'pods', id, 'containers')).length : 0;
      } catch {
        return 0;
      }
    };
    // Where the removal cuts in: pod rm -f at the same moment as the runs;
    // the library's remove the moment the supervisor has begun a container;
    // pod rm -f once a run has finished (so one surely won); and runs that
    // start once rm has stopped the pod (so they surely lose).
    const rounds: { name: string; race: (pausePid: number) => Promise<CliResult[]> }[] = [
      { name: 'at once', race: async () => all([rmPod(), ...six(run)]) },
      { name: 'after a container began', race: async () => afterwards(six(run), () => containersMade() > 0) },
      { name: 'after a run finished', race: async () => afterFirstSuccess(six(run)) },
      { name: 'runs once the pod stopped', race: async (pausePid) => runsOnceStopped(run, pausePid) },
    ];
    let won = 0;
    let lost = 0;
    for (const round of rounds) {
      const port = await freePort();
      expect(nsbox(root, ['pod', 'create', '--name', 'race', '-p', `127.0.0.1:${port}:80`]).code).toBe(0);
      const watch = await watchPublishingPod(root, 'race');
      expect(watch.processes.map((p) => p.role).sort()).toEqual(['forwarder', 'keeper', 'pause']);
      const [rmResult, ...runResults] = await round.race(pods().find((p) => p.name === 'race')!.pausePid);
      expect(rmResult!.code, rmResult!.stderr).toBe(0);
      // Each run either made its container before the pod went, or failed with one line.
      for (const r of runResults) {
        if (r.code === 0) {
          expect(r.stdout).toMatch(/^race\/c\d\n$/);
          won++;
        } else {
          expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
          expect(r.stderr).toMatch(/^nsbox: /);
          lost++;
        }
      }
      // Afterwards: the pod and everything in it are gone, and the state reads cleanly.
      expect(pods().find((p) => p.name === 'race')).toBeUndefined();
      expect(podDirs(root)).toEqual([]);
      expect(JSON.parse(nsbox(root, ['ps', '-a', '--format', 'json']).stdout)).toEqual([]);
      expect(await leftoverProcesses(root, [watch]), round.name).toEqual([]);
      watch.close();
      expect(scratchFiles(root)).toEqual([]);
      expect(readdirSync(root)).toContain('pods');
      console.log(`race "${round.name}": ${runResults.map((r) => (r.code === 0 ? 'won' : 'lost')).join(' ')}`);
    }
    expect(won, 'runs that made their container before the pod went').toBeGreaterThan(0);
    expect(lost, 'runs that found the pod going or gone').toBeGreaterThan(0);
  }, 120_000);
});

const six = (run: (i: number) => { done: Promise<CliResult> }) => Array.from({ length: 6 }, (_, i) => run(i).done);
const all = (ps: Promise<CliResult>[]) => Promise.all(ps);
const rmPod = () => nsboxAsync(root, ['pod', 'rm', '-f', 'race']);

/** Removes the pod from this process (no CLI start-up in the way), as a CLI result. */
async function rmPodFromHere(): Promise<CliResult> {
  try {
    await getPod('race', { root }).remove({ force: true });
    return { code: 0, stdout: '', stderr: '' };
  } catch (err) {
    return { code: 1, stdout: '', stderr: String(err) };
  }
}

/** The runs, and the pod removed the moment `cond` holds; results rm first. */
async function afterwards(runs: Promise<CliResult>[], cond: () => boolean): Promise<CliResult[]> {
  await waitFor(cond, 30_000, 'the moment to remove the pod');
  return all([rmPodFromHere(), ...runs]);
}

/** The runs, and pod rm -f as soon as one of them has succeeded. */
async function afterFirstSuccess(runs: Promise<CliResult>[]): Promise<CliResult[]> {
  await Promise.any(runs.map((r) => r.then((x) => (x.code === 0 ? x : Promise.reject(new Error(x.stderr))))));
  return all([rmPod(), ...runs]);
}

/** pod rm -f, and six runs started the moment its pause is gone (rm may still be removing the state). */
async function runsOnceStopped(run: (i: number) => { done: Promise<CliResult> }, pausePid: number): Promise<CliResult[]> {
  const rm = rmPod();
  await waitFor(() => isGoneOrZombie(pausePid), 30_000, 'the pod to stop');
  return all([rm, ...six(run)]);
}
