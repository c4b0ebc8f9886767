// kill -9 of the supervisor, the pause, a container or the CLI (also in the
// middle of pod create, run and image import): `pod ls` and `ps` tell the
// truth, `pod rm -f` cleans up, and nothing is left: no process, listening
// port, temp file or partial image.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBusybox } from './helpers/busybox.js';
import { cleanupRoot, cliPath, tempRoot, testMode } from './helpers/env.js';
import { leftoverProcesses, liveProcesses, readProc, scratchFiles, watchPod, type PodWatch } from './helpers/leftovers.js';
import { connectOutcome, fetchWhenUp, freePort } from './helpers/net.js';
import { childrenOf, holdsFlock, isGoneOrZombie, nsbox, podDirs, waitFor, removeAllPods } from './helpers/nsbox.js';

let root: string;
let busybox: string;
beforeAll(async () => {
  root = tempRoot();
  busybox = await importBusybox(root);
});

/**
 * How a CLI call that we meant to interrupt ended. `killed-mid`: SIGKILLed
 * after `midway` saw the operation under way (the kill landed inside it);
 * `killed`: SIGKILLed by the timer, at a point we cannot name; `completed`
 * and `failed`: it exited by itself first.
 */
type Outcome = 'killed-mid' | 'killed' | 'completed' | 'failed';

/**
 * Runs the CLI and SIGKILLs it after `afterMs`, or as soon as `midway(pid)`
 * is true (polled every millisecond or so), whichever comes first; without
 * either it runs to the end.
 */
function killCli(args: string[], when: { afterMs?: number; midway?: (pid: number) => boolean }): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, '--root', root, ...args], { stdio: 'ignore' });
    let sawMidway = false;
    const timer = when.afterMs !== undefined ? setTimeout(() => child.kill('SIGKILL'), when.afterMs) : null;
    const poll = when.midway
      ? setInterval(() => {
          if (!sawMidway && when.midway!(child.pid!)) {
            sawMidway = true;
            child.kill('SIGKILL');
          }
        }, 1)
      : null;
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (poll) clearInterval(poll);
      if (signal === 'SIGKILL') resolve(sawMidway ? 'killed-mid' : 'killed');
      else resolve(code === 0 ? 'completed' : 'failed');
    });
  });
}

/** True once the CLI `pid` has a keeper child: the pod's pause runs, its record may not be written yet. */
function keeperStarted(pid: number): boolean {
  try {
    const children = readdirSync(`/proc/${pid}/task`).flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean));
    return children.some((c) => readFileSync(`/proc/${c}/cmdline`, 'utf8').includes('nsbox-keeper'));
  } catch {
    return false;
  }
}

/** True once an import by `pid` has made its scratch directory images/tmp/<pid>-XXXXXX. */
function importUnderWay(pid: number): boolean {
  try {
    return readdirSync(join(root, 'images', 'tmp')).some((n) => n.startsWith(`${pid}-`));
  } catch {
    return false;
  }
}

/** The host pid of the process that is `nsPid` in the PID namespace of `pausePid` (NSpid in /proc/PID/status). */
function hostPidOf(pausePid: number, nsPid: number): number | undefined {
  const ns = readProc(pausePid)?.pidNs;
  return liveProcesses().find((p) => {
    if (p.pidNs !== ns) return false;
    const nspids = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'))?.[1]?.trim().split(/\s+/);
    return Number(nspids?.[nspids.length - 1]) === nsPid;
  })?.pid;
}

/** `fn()`, or false if it throws (a file that is not there yet). */
function readOrFalse(fn: () => boolean): boolean {
  try {
    return fn();
  } catch {
    return false;
  }
}

const watches: PodWatch[] = [];
/** watchPod, released in afterAll. */
function watch(name: string): PodWatch {
  const w = watchPod(root, name);
  watches.push(w);
  return w;
}

afterAll(() => {
  for (const w of watches) w.close();
  removeAllPods(root);
  cleanupRoot(root);
});

function info(name: string): { pausePid: number; supervisorPid: number; status: string } {
  return JSON.parse(nsbox(root, ['pod', 'inspect', name]).stdout);
}

describe(`faults (${testMode})`, () => {
  it('supervisor killed with -9: the pod dies with it, ls shows it exited, rm -f cleans up', async () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'f-sup']).code).toBe(0);
    const before = info('f-sup');
    const w = watch('f-sup');
    process.kill(before.supervisorPid, 'SIGKILL');
    await waitFor(() => isGoneOrZombie(before.pausePid), 5000, 'the pause to follow its supervisor');
    expect(info('f-sup').status).toBe('exited');
    const rm = nsbox(root, ['pod', 'rm', '-f', 'f-sup']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(podDirs(root)).toEqual([]);
    expect(await leftoverProcesses(root, [w])).toEqual([]);
  });

  it('pause killed with -9: ls shows exited, the supervisor exits, rm cleans up', async () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'f-pause']).code).toBe(0);
    const before = info('f-pause');
    const w = watch('f-pause');
    process.kill(before.pausePid, 'SIGKILL');
    await waitFor(() => isGoneOrZombie(before.supervisorPid), 5000, 'the supervisor to exit');
    expect(info('f-pause').status).toBe('exited');
    expect(nsbox(root, ['pod', 'rm', 'f-pause']).code).toBe(0);
    expect(podDirs(root)).toEqual([]);
    expect(await leftoverProcesses(root, [w])).toEqual([]);
  });

  it('stopping a pod ends every process in it, including long-running execs', async () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'f-stop']).code).toBe(0);
    const w = watch('f-stop');
    const sleeper = nsbox(root, ['exec', 'f-stop', '--', 'sh', '-c', 'sleep 1000 >/dev/null 2>&1 & echo $!']);
    expect(sleeper.code).toBe(0);
    // The echoed pid is the sleep's pid in the pod: find that very process on the host.
    const sleep = hostPidOf(info('f-stop').pausePid, Number(sleeper.stdout.trim()));
    expect(sleep, `pid ${sleeper.stdout.trim()} in the pod`).toBeGreaterThan(0);
    expect(readProc(sleep!)?.argv).toEqual(['sleep', '1000']);
    expect(nsbox(root, ['pod', 'rm', '-f', 'f-stop']).code).toBe(0);
    await waitFor(() => isGoneOrZombie(sleep!), 5000, 'the sleep to be killed');
    expect(podDirs(root)).toEqual([]);
    expect(await leftoverProcesses(root, [w])).toEqual([]);
  });

  it('supervisor killed with -9 under running containers and a published port: all of it goes', async () => {
    const port = await freePort();
    expect(nsbox(root, ['pod', 'create', '--name', 'f-busy', '-p', `127.0.0.1:${port}:80`]).code).toBe(0);
    expect(nsbox(root, ['run', '-d', '--pod', 'f-busy', '--name', 'web', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/srv']).code).toBe(0);
    await waitFor(() => nsbox(root, ['ps', '-q']).stdout.includes('f-busy/web'), 5000, 'the container');
    const before = info('f-busy');
    const web = (JSON.parse(nsbox(root, ['ps', '--format', 'json']).stdout) as { name: string; process: { pid: number } }[]).find((c) => c.name === 'web')!;
    // This pod's forwarder: the supervisor's child (other test files run forwarders too).
    const forwarders = childrenOf(before.supervisorPid, 'nsbox-forward');
    expect(forwarders).toHaveLength(1);
    const w = watch('f-busy');
    // The port answers while the pod runs: the refusal below is then the pod's going.
    expect(await fetchWhenUp(`http://127.0.0.1:${port}/hello.txt`)).toBe('hello from the image\n');
    process.kill(before.supervisorPid, 'SIGKILL');
    await waitFor(() => isGoneOrZombie(before.pausePid) && isGoneOrZombie(web.process.pid), 5000, 'the pod to go with its supervisor');
    await waitFor(() => forwarders.every((p) => isGoneOrZombie(p)), 5000, 'the forwarder to go');
    expect(await connectOutcome(port)).toBe('ECONNREFUSED');
    expect(info('f-busy').status).toBe('exited');
    expect(nsbox(root, ['ps', '-q']).stdout).toBe(''); // not running any more
    expect(nsbox(root, ['ps', '-a', '-q']).stdout).toBe('f-busy/web\n');
    expect(nsbox(root, ['pod', 'rm', '-f', 'f-busy']).code).toBe(0);
    expect(podDirs(root)).toEqual([]);
    expect(await leftoverProcesses(root, [w])).toEqual([]);
  });

  it('a container killed with -9: ps shows it exited 137, the pod keeps running', async () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'f-ctr']).code).toBe(0);
    const w = watch('f-ctr');
    expect(nsbox(root, ['run', '-d', '--pod', 'f-ctr', '--name', 'victim', 'busybox', 'sleep', '600']).code).toBe(0);
    const victim = (JSON.parse(nsbox(root, ['ps', '--format', 'json']).stdout) as { name: string; process: { pid: number } }[]).find((c) => c.name === 'victim')!;
    process.kill(victim.process.pid, 'SIGKILL');
    await waitFor(() => nsbox(root, ['ps', '-a']).stdout.includes('Exited (137)'), 5000, 'ps to show the exit');
    expect(info('f-ctr').status).toBe('running');
    expect(nsbox(root, ['run', '--pod', 'f-ctr', 'busybox', 'true']).code).toBe(0);
    expect(nsbox(root, ['pod', 'rm', '-f', 'f-ctr']).code).toBe(0);
    expect(podDirs(root)).toEqual([]);
    expect(await leftoverProcesses(root, [w])).toEqual([]);
  });

  it('the CLI killed with -9 in the middle of pod create and run: the truth in ls/ps, and rm -f cleans up', async () => {
    const lock = join(root, 'lock');
    /** The CLI has begun making container `c` of pod `name` (its directory exists). */
    const makingContainer = (name: string) => () => {
      const id = podDirs(root).find((d) => (JSON.parse(readFileSync(join(root, 'pods', d, 'pod.json'), 'utf8')) as { name: string }).name === name);
      return !!id && readdirSync(join(root, 'pods', id, 'containers')).includes('c');
    };
    // Each pod: kills at fixed times (anywhere, early or late), kills the
    // moment the call is seen under way (run: the container is being made),
    // and calls left alone.
    // A create is seen under way early (it holds the state lock) or late
    // (its pause and keeper run, while it may not have written the record).
    type Plan = { ms?: number; midway?: 'early' | 'late' | true };
    const plans: { create: Plan; run: Plan }[] = [
      ...[5, 40, 120, 220].map((ms) => ({ create: { ms }, run: { ms } })),
      { create: { midway: 'early' }, run: { midway: true } },
      { create: { midway: 'late' }, run: {} },
      { create: { midway: 'late' }, run: {} },
      { create: {}, run: { midway: true } },
      { create: {}, run: {} },
    ];
    const createUnderWay = (plan: Plan) =>
      plan.midway === 'early' ? (pid: number) => holdsFlock(pid, lock) : plan.midway === 'late' ? (pid: number) => holdsFlock(pid, lock) && keeperStarted(pid) : undefined;
    const outcomes: { create: Outcome; run: Outcome }[] = [];
    for (const [i, plan] of plans.entries()) {
      const name = `f-cli-${i}`;
      const create = await killCli(['pod', 'create', '--name', name], { afterMs: plan.create.ms, midway: createUnderWay(plan.create) });
      const run = await killCli(['run', '-d', '--pod', name, '--name', 'c', 'busybox', 'sleep', '600'], {
        afterMs: plan.run.ms,
        midway: plan.run.midway ? () => readOrFalse(makingContainer(name)) : undefined,
      });
      outcomes.push({ create, run });
      const listPods = () => JSON.parse(nsbox(root, ['pod', 'ls', '--format', 'json']).stdout) as { name: string; status: string; pausePid: number }[];
      // Killed after its keeper started, before the keeper said ready: the keeper takes the half-made pod down.
      if (plan.create.midway === 'late' && create === 'killed-mid')
        await waitFor(() => !listPods().some((p) => p.name === name && p.status === 'running'), 5000, `half-made pod ${name} to go down`);
      const pods = listPods();
      for (const p of pods) {
        // A pod that exists is whole: its pause runs (and is recorded), or ls says exited.
        if (p.status === 'running') expect(isGoneOrZombie(p.pausePid)).toBe(false);
      }
      const containers = JSON.parse(nsbox(root, ['ps', '-a', '--format', 'json']).stdout) as { state: string; process: { pid: number } | null }[];
      for (const c of containers) if (c.state === 'running') expect(isGoneOrZombie(c.process!.pid)).toBe(false);
      // A call that finished did its whole job.
      if (create === 'completed') expect(pods.find((p) => p.name === name)?.status).toBe('running');
    }
    console.log(`CLI killed during pod create / run -d: ${outcomes.map((o) => `${o.create}/${o.run}`).join(', ')}`);
    // The kills did land inside the operations, and the same calls left alone finish.
    expect(outcomes.filter((o) => o.create === 'killed-mid').length, 'creates killed under way').toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.run === 'killed-mid').length, 'runs killed under way').toBeGreaterThan(0);
    expect(outcomes.at(-1)).toEqual({ create: 'completed', run: 'completed' });
    removeAllPods(root);
    expect(podDirs(root)).toEqual([]);
    expect(await leftoverProcesses(root)).toEqual([]);
    expect(scratchFiles(root)).toEqual([]);
  }, 90_000);

  it('the CLI killed with -9 in the middle of an image import: no partial image, no temp files, and a retry succeeds', async () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'f-img']).code).toBe(0);
    const w = watch('f-img');
    // Fixed times, then kills the moment the import has its scratch
    // directory, then one left alone.
    const plans: { ms?: number; midway?: boolean }[] = [{ ms: 20 }, { ms: 150 }, { ms: 400 }, { midway: true }, { midway: true }, {}];
    const outcomes: Outcome[] = [];
    let scratchLeftByKill = 0;
    for (const plan of plans) {
      const outcome = await killCli(['image', 'import', busybox, '--name', 'interrupted'], { afterMs: plan.ms, midway: plan.midway ? importUnderWay : undefined });
      outcomes.push(outcome);
      scratchLeftByKill += readdirSync(join(root, 'images', 'tmp')).length;
      if (nsbox(root, ['image', 'inspect', 'interrupted']).code !== 0) {
        expect(outcome, 'an import that exited 0 made its image').not.toBe('completed');
        continue; // killed before it committed: no image at all
      }
      // It finished before the kill: then it is whole and runs.
      const r = nsbox(root, ['run', '--pod', 'f-img', 'interrupted', 'cat', '/srv/hello.txt']);
      expect(r.stdout, r.stderr).toBe('hello from the image\n');
      expect(nsbox(root, ['rm', '-f', ...nsbox(root, ['ps', '-a', '-q']).stdout.trim().split('\n').filter(Boolean)]).code).toBe(0);
      expect(nsbox(root, ['image', 'rm', 'interrupted']).code).toBe(0);
    }
    console.log(`image import killed: ${outcomes.join(', ')}; scratch directories seen after the kills: ${scratchLeftByKill}`);
    expect(outcomes.filter((o) => o === 'killed-mid').length, 'imports killed under way').toBeGreaterThan(0);
    expect(scratchLeftByKill, 'scratch directories the killed imports left for the next one to sweep').toBeGreaterThan(0);
    expect(outcomes.at(-1)).toBe('completed');
    expect(nsbox(root, ['pod', 'rm', '-f', 'f-img']).code).toBe(0);
    // A later import cleans what the killed ones left, and succeeds.
    const retry = nsbox(root, ['image', 'import', busybox, '--name', 'interrupted']);
    expect(retry.code, retry.stderr).toBe(0);
    expect(scratchFiles(root)).toEqual([]);
    expect(await leftoverProcesses(root, [w])).toEqual([]);
    expect(nsbox(root, ['image', 'rm', 'interrupted']).code).toBe(0);
  }, 90_000);

  it('a record an import was writing when it was killed (NAME.tmp-PID, never renamed) is removed by the next import; a live writer\'s is kept', () => {
    const dead = spawnSync('true').pid!; // exited and reaped: its pid names no process now (or a new one, then the file is kept)
    const images = join(root, 'images');
    const stale = [join(images, `${'a'.repeat(64)}.json.tmp-${dead}`), join(images, 'configs', `${'b'.repeat(64)}.json.tmp-${dead}`)];
    const live = join(images, `names.json.tmp-${process.pid}`);
    for (const f of [...stale, live]) writeFileSync(f, '{');
    const r = nsbox(root, ['image', 'import', busybox, '--name', 'after-kill']);
    expect(r.code, r.stderr).toBe(0);
    expect(stale.filter((f) => existsSync(f))).toEqual([]);
    expect(existsSync(live)).toBe(true);
    rmSync(live);
    expect(scratchFiles(root)).toEqual([]);
    expect(nsbox(root, ['image', 'rm', 'after-kill']).code).toBe(0);
  });
});
