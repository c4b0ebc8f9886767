// kill -9 of the supervisor, the pause, a container or the CLI (also in the
// middle of pod create, run and image import): `pod ls` and `ps` tell the
// truth, `pod rm -f` cleans up, and nothing is left: no process, listening
// port, temp file or partial image.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBusybox } from './helpers/busybox.js';
import { cleanupRoot, cliPath, tempRoot, testMode } from './helpers/env.js';
import { freePort, portRefused } from './helpers/net.js';
import { childrenOf, isGoneOrZombie, nsbox, podDirs, processesMentioning, waitFor, removeAllPods } from './helpers/nsbox.js';

let root: string;
let busybox: string;
beforeAll(async () => {
  root = tempRoot();
  busybox = await importBusybox(root);
});

/** Starts the CLI and SIGKILLs it after `ms`; resolves when it is gone. */
function killCliAfter(args: string[], ms: number): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, '--root', root, ...args], { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', () => (clearTimeout(timer), resolve()));
  });
}

/** Temp files anywhere under the state root (atomic writes, imports). */
function tempFiles(dir = root): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (/^\.tmp|\.tmp$|\.tmp-/.test(e.name)) out.push(p);
    else if (e.isDirectory() && e.name !== 'diff') out.push(...tempFiles(p));
  }
  return out;
}

afterAll(() => {
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
    process.kill(before.supervisorPid, 'SIGKILL');
    await waitFor(() => isGoneOrZombie(before.pausePid), 5000, 'the pause to follow its supervisor');
    expect(info('f-sup').status).toBe('exited');
    const rm = nsbox(root, ['pod', 'rm', '-f', 'f-sup']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(podDirs(root)).toEqual([]);
    expect(processesMentioning(root)).toEqual([]);
  });

  it('pause killed with -9: ls shows exited, the supervisor exits, rm cleans up', async () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'f-pause']).code).toBe(0);
    const before = info('f-pause');
    process.kill(before.pausePid, 'SIGKILL');
    await waitFor(() => isGoneOrZombie(before.supervisorPid), 5000, 'the supervisor to exit');
    expect(info('f-pause').status).toBe('exited');
    expect(nsbox(root, ['pod', 'rm', 'f-pause']).code).toBe(0);
    expect(podDirs(root)).toEqual([]);
  });

  it('stopping a pod ends every process in it, including long-running execs', async () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'f-stop']).code).toBe(0);
    const sleeper = nsbox(root, ['exec', 'f-stop', '--', 'sh', '-c', 'sleep 1000 >/dev/null 2>&1 & echo $!']);
    expect(sleeper.code).toBe(0);
    const procs = nsbox(root, ['exec', 'f-stop', '--', 'ps', '-eo', 'pid=,args=']).stdout;
    expect(procs).toMatch(/sleep 1000/);
    expect(nsbox(root, ['pod', 'rm', '-f', 'f-stop']).code).toBe(0);
    await waitFor(() => processesMentioning('sleep 1000').length === 0, 5000, 'sleep to be killed');
    expect(podDirs(root)).toEqual([]);
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
    process.kill(before.supervisorPid, 'SIGKILL');
    await waitFor(() => isGoneOrZombie(before.pausePid) && isGoneOrZombie(web.process.pid), 5000, 'the pod to go with its supervisor');
    await waitFor(() => forwarders.every((p) => isGoneOrZombie(p)), 5000, 'the forwarder to go');
    expect(await portRefused(port)).toBe(true);
    expect(info('f-busy').status).toBe('exited');
    expect(nsbox(root, ['ps', '-q']).stdout).toBe(''); // not running any more
    expect(nsbox(root, ['ps', '-a', '-q']).stdout).toBe('f-busy/web\n');
    expect(nsbox(root, ['pod', 'rm', '-f', 'f-busy']).code).toBe(0);
    expect(podDirs(root)).toEqual([]);
    expect(processesMentioning(root)).toEqual([]);
  });

  it('a container killed with -9: ps shows it exited 137, the pod keeps running', async () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'f-ctr']).code).toBe(0);
    expect(nsbox(root, ['run', '-d', '--pod', 'f-ctr', '--name', 'victim', 'busybox', 'sleep', '600']).code).toBe(0);
    const victim = (JSON.parse(nsbox(root, ['ps', '--format', 'json']).stdout) as { name: string; process: { pid: number } }[]).find((c) => c.name === 'victim')!;
    process.kill(victim.process.pid, 'SIGKILL');
    await waitFor(() => nsbox(root, ['ps', '-a']).stdout.includes('Exited (137)'), 5000, 'ps to show the exit');
    expect(info('f-ctr').status).toBe('running');
    expect(nsbox(root, ['run', '--pod', 'f-ctr', 'busybox', 'true']).code).toBe(0);
    expect(nsbox(root, ['pod', 'rm', '-f', 'f-ctr']).code).toBe(0);
    expect(podDirs(root)).toEqual([]);
  });

  it('the CLI killed with -9 in the middle of pod create and run: the truth in ls/ps, and rm -f cleans up', async () => {
    for (const [i, ms] of [5, 40, 80, 120, 160, 220].entries()) {
      await killCliAfter(['pod', 'create', '--name', `f-cli-${i}`], ms);
      await killCliAfter(['run', '-d', '--pod', `f-cli-${i}`, '--name', 'c', 'busybox', 'sleep', '600'], ms);
      const pods = JSON.parse(nsbox(root, ['pod', 'ls', '--format', 'json']).stdout) as { name: string; status: string; pausePid: number }[];
      for (const p of pods) {
        // A pod that exists is whole: its pause runs (and is recorded), or ls says exited.
        if (p.status === 'running') expect(isGoneOrZombie(p.pausePid)).toBe(false);
      }
      const containers = JSON.parse(nsbox(root, ['ps', '-a', '--format', 'json']).stdout) as { state: string; process: { pid: number } | null }[];
      for (const c of containers) if (c.state === 'running') expect(isGoneOrZombie(c.process!.pid)).toBe(false);
    }
    removeAllPods(root);
    expect(podDirs(root)).toEqual([]);
    expect(processesMentioning(root)).toEqual([]);
    expect(tempFiles()).toEqual([]);
  }, 60_000);

  it('the CLI killed with -9 in the middle of an image import: no partial image, no temp files, and a retry succeeds', async () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'f-img']).code).toBe(0);
    let whole = 0;
    for (const ms of [20, 80, 150, 250, 400]) {
      await killCliAfter(['image', 'import', busybox, '--name', 'interrupted'], ms);
      if (nsbox(root, ['image', 'inspect', 'interrupted']).code !== 0) continue; // killed before it committed: no image at all
      // It finished before the kill: then it is whole and runs.
      whole++;
      const r = nsbox(root, ['run', '--pod', 'f-img', 'interrupted', 'cat', '/srv/hello.txt']);
      expect(r.stdout, r.stderr).toBe('hello from the image\n');
      expect(nsbox(root, ['rm', '-f', ...nsbox(root, ['ps', '-a', '-q']).stdout.trim().split('\n').filter(Boolean)]).code).toBe(0);
      expect(nsbox(root, ['image', 'rm', 'interrupted']).code).toBe(0);
    }
    console.log(`import killed at 20-400 ms: ${whole} of 5 had finished, the others left no image`);
    expect(nsbox(root, ['pod', 'rm', '-f', 'f-img']).code).toBe(0);
    // A later import cleans what the killed ones left, and succeeds.
    const retry = nsbox(root, ['image', 'import', busybox, '--name', 'interrupted']);
    expect(retry.code, retry.stderr).toBe(0);
    expect(tempFiles()).toEqual([]);
    expect(processesMentioning(root)).toEqual([]);
    expect(nsbox(root, ['image', 'rm', 'interrupted']).code).toBe(0);
  }, 60_000);
});
