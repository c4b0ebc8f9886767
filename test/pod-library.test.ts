// The TypeScript API as a test suite would use it: pods supervised by this
// process, captured exec, stop/remove, and detached pods that outlive us.
import { spawn } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPod, getPod, listPods, NsboxError } from '../dist/index.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { leftoverProcesses, watchPause, type PodWatch } from './helpers/leftovers.js';
import { isGoneOrZombie, nsbox, podDirs, waitFor } from './helpers/nsbox.js';

let root: string;
beforeAll(() => {
  root = tempRoot();
});
afterAll(async () => {
  for (const p of listPods({ root })) await getPod(p.id, { root }).remove({ force: true });
  cleanupRoot(root);
});

function runNode(script: string): Promise<{ code: number | null; stdout: string; pid: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('close', (code) => resolve({ code, stdout, pid: child.pid! }));
  });
}

const indexUrl = new URL('../dist/index.js', import.meta.url).href;

describe(`library API (${testMode})`, () => {
  it('creates a pod in-process, execs with captured output and exit codes, stops and removes it', async () => {
    const pod = await createPod({ root, name: 'lib-basic' });
    expect(pod.isLocal).toBe(true);
    expect(pod.status()).toBe('running');
    const ps = await pod.exec(['ps', '-o', 'pid=,args=']);
    expect(ps.exitCode).toBe(0);
    expect(ps.stdout.trim().split('\n')[0]!.trim()).toBe('1 /pause');

    const sh = await pod.exec(['sh', '-c', 'echo "$A" in $(pwd); echo oops >&2; exit 3'], { env: { A: 'value' }, cwd: '/tmp' });
    expect(sh).toEqual({ exitCode: 3, signal: null, stdout: 'value in /tmp\n', stderr: 'oops\n', stdoutBytes: Buffer.from('value in /tmp\n'), stderrBytes: Buffer.from('oops\n'), timedOut: false });

    const cat = await pod.exec(['cat'], { stdin: 'piped input' });
    expect(cat.stdout).toBe('piped input');

    const missing = await pod.exec(['no-such-binary']);
    expect(missing.exitCode).toBe(127);
    expect(missing.stderr).toMatch(/not found/);

    const killed = await pod.exec(['sh', '-c', 'kill -USR1 $$']);
    expect(killed).toMatchObject({ exitCode: 128 + 10, signal: 10 });

    const pausePid = pod.record.pause.pid;
    await pod.stop({ timeoutSeconds: 2 });
    expect(pod.status()).toBe('exited');
    await expect(pod.exec(['true'])).rejects.toThrow(/not running/);
    await pod.remove();
    expect(isGoneOrZombie(pausePid)).toBe(true);
    expect(podDirs(root)).toEqual([]);
  });

  it('runs many execs concurrently in one pod', async () => {
    const pod = await createPod({ root, name: 'lib-concurrent' });
    try {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => pod.exec(['sh', '-c', `echo ${i}`])));
      expect(results.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    } finally {
      await pod.remove({ force: true });
    }
  });

  it('is visible to the CLI, which can exec into it', async () => {
    const pod = await createPod({ root, name: 'lib-cli' });
    try {
      const r = nsbox(root, ['exec', 'lib-cli', '--', 'hostname']);
      expect(r.stdout).toBe('lib-cli\n');
      expect(JSON.parse(nsbox(root, ['pod', 'inspect', 'lib-cli']).stdout).supervisor).toBe('library');
    } finally {
      await pod.remove({ force: true });
    }
  });

  it('refuses a duplicate name with a typed error', async () => {
    const pod = await createPod({ root, name: 'lib-dup' });
    try {
      const err = await createPod({ root, name: 'lib-dup' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NsboxError);
      expect((err as NsboxError).code).toBe('DUPLICATE_NAME');
    } finally {
      await pod.remove({ force: true });
    }
  });

  it('removes its pods when the creating process is killed with SIGKILL', async () => {
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', `import { createPod } from '${indexUrl}'; const p = await createPod({ root: ${JSON.stringify(root)}, name: 'lib-orphaned' }); console.log(p.record.pause.pid); setInterval(() => {}, 1000);`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const pausePid = await new Promise<number>((resolve) => child.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
    expect(isGoneOrZombie(pausePid)).toBe(false);
    child.kill('SIGKILL');
    await waitFor(() => isGoneOrZombie(pausePid), 5000, 'the pause to die with its creator');
    // Gone from the listing at once; the next create removes its state.
    expect(listPods({ root }).map((p) => p.name)).not.toContain('lib-orphaned');
    expect(podDirs(root)).toHaveLength(1);
    const next = await createPod({ root, name: 'lib-after-crash' });
    expect(podDirs(root)).toEqual([next.id]);
    await next.remove({ force: true });
  });

  it('removes its pods when the creating process exits normally', async () => {
    const r = await runNode(`import { createPod } from '${indexUrl}'; const p = await createPod({ root: ${JSON.stringify(root)}, name: 'lib-exit' }); console.log(p.record.pause.pid);`);
    expect(r.code).toBe(0);
    const pausePid = Number(r.stdout.trim());
    await waitFor(() => isGoneOrZombie(pausePid), 5000, 'the pause to end');
    expect(listPods({ root }).map((p) => p.name)).not.toContain('lib-exit');
  });

  it('keeps its caller alive while removing pods (regression: exit 13 in pod.remove)', async () => {
    const r = await runNode(
      `import { createPod } from '${indexUrl}'; for (let i = 0; i < 30; i++) { const p = await createPod({ root: ${JSON.stringify(root)}, name: 'lib-loop-' + i }); await p.exec(['true']); await p.remove({ force: true }); } console.log('loop done');`,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('loop done\n');
  });

  it('creates detached pods that outlive their creator', async () => {
    const r = await runNode(`import { createPod } from '${indexUrl}'; const p = await createPod({ root: ${JSON.stringify(root)}, name: 'lib-detached', detached: true }); console.log(p.id);`);
    expect(r.code).toBe(0);
    const pod = getPod('lib-detached', { root });
    expect(pod.status()).toBe('running');
    expect(pod.info().supervisor).toBe('detached');
    const res = await pod.exec(['cat', '/proc/1/cmdline']);
    expect(res.stdout).toBe('/pause\0');
    await pod.remove({ force: true });
    expect(podDirs(root)).toEqual([]);
  });

  it('leaves no fd, process or state behind after create, exec and remove', async () => {
    const warm = await createPod({ root, name: 'lib-warm' }); // first use opens the shim library
    await warm.exec(['true']);
    await warm.remove({ force: true });
    const fds = () => readdirSync('/proc/self/fd');
    /** pidfds and namespace fds this process holds: what the library opens per pod. */
    const podFds = () =>
      fds()
        .map((fd) => {
          try {
            return readlinkSync(`/proc/self/fd/${fd}`);
          } catch {
            return '';
          }
        })
        .filter((t) => /^anon_inode:\[pidfd\]$|^(mnt|pid|user|net|ipc|uts|cgroup|time):\[/.test(t));
    const fdsBefore = fds().length;
    const podFdsBefore = podFds();
    const watches: PodWatch[] = [];
    for (let i = 0; i < 5; i++) {
      const pod = await createPod({ root, name: `lib-leak-${i}` });
      expect((await pod.exec(['sh', '-c', 'echo hi; echo there >&2'], { stdin: 'x' })).stdout).toBe('hi\n');
      watches.push(watchPause(pod.name, pod.record.pause.pid, process.pid));
      await pod.remove({ force: true });
    }
    // A pod's mounts live in its own mount namespaces, which end with their
    // last process, and every such process is in the pod's PID namespace:
    // none may be left (this process's mountinfo cannot see those mounts).
    expect(await leftoverProcesses(root, watches)).toEqual([]);
    for (const w of watches) w.close(); // before counting fds: the watches hold some
    expect(fds().length).toBe(fdsBefore);
    expect(podFds()).toEqual(podFdsBefore);
    expect(podDirs(root)).toEqual([]);
  });
});
