// Load (issue 6): 50 pods at once, each with a busybox httpd on a published
// port, all answering, then all removed with nothing left; 1000 execs into
// one pod with no fd, zombie or address-space growth in the process that
// joins the pod (the caller: an exec never goes through the supervisor); and
// a few hundred requests to a pod's supervisor (run, wait, rm, ping) with no
// fd or zombie growth in it. The figures go to the test's output
// (console.log) for the closing note.
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getPod } from '../dist/index.js';
import { importBusybox } from './helpers/busybox.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { leftoverProcesses, liveProcesses, readProc, watchPod, watchPublishingPod, type PodWatch } from './helpers/leftovers.js';
import { freePort, portRefused } from './helpers/net.js';
import { isGoneOrZombie, nsbox, nsboxAsync, podDirs, procState, removeAllPods, waitFor } from './helpers/nsbox.js';

let root: string;
const PODS = 50;

/** Runs `fn` over `items`, `width` at a time. */
async function inBatches<T, R>(items: T[], width: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) out.push(...(await Promise.all(items.slice(i, i + width).map(fn))));
  return out;
}

const fdCount = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const statusKiB = (pid: number, field: 'VmRSS' | 'VmSize') => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
const rssKiB = (pid: number) => statusKiB(pid, 'VmRSS');
/** Children of `pid`, zombies included: a child its parent never reaped stays one. */
const childrenOf = (pid: number) =>
  readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((c) => {
      try {
        return new RegExp(`^PPid:\\s+${pid}$`, 'm').test(readFileSync(`/proc/${c}/status`, 'utf8'));
      } catch {
        return false;
      }
    });
const zombieChildrenOf = (pid: number) => childrenOf(pid).filter((c) => procState(c) === 'Z');

beforeAll(async () => {
  root = tempRoot();
  await importBusybox(root);
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

describe(`load (${testMode})`, () => {
  it(`${PODS} pods at once, each serving HTTP on a published port; then all removed, nothing left`, async () => {
    const started = Date.now();
    const names = Array.from({ length: PODS }, (_, i) => `load-${i}`);
    const ports: number[] = new Array(PODS);
    // Other test files run meanwhile: a free port may be taken before we bind it, so try another.
    const create = async (i: number) => {
      for (let attempt = 0; ; attempt++) {
        ports[i] = await freePort();
        const r = await nsboxAsync(root, ['pod', 'create', '--name', names[i]!, '-p', `127.0.0.1:${ports[i]}:80`]);
        if (r.code === 0 || attempt === 4 || !r.stderr.includes('address already in use')) return r;
      }
    };
    const created = await inBatches([...names.keys()], 10, create);
    for (const r of created) expect(r.code, r.stderr).toBe(0);
    const ran = await inBatches(names, 10, (n) => nsboxAsync(root, ['run', '-d', '--pod', n, '--name', 'httpd', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/srv']));
    for (const r of ran) expect(r.code, r.stderr).toBe(0);
    const up = Date.now();
    const bodies = await Promise.all(
      ports.map(async (p) => {
        for (let i = 0; i < 100; i++) {
          const body = await fetch(`http://127.0.0.1:${p}/hello.txt`)
            .then((r) => r.text())
            .catch(() => '');
          if (body) return body;
          await new Promise((r) => setTimeout(r, 50));
        }
        return '';
      }),
    );
    expect(bodies.filter((b) => b === 'hello from the image\n')).toHaveLength(PODS);
    const pods = JSON.parse(nsbox(root, ['pod', 'ls', '--format', 'json']).stdout) as { name: string; pausePid: number; supervisorPid: number }[];
    expect(pods.filter((p) => p.name.startsWith('load-'))).toHaveLength(PODS);
    const watches: PodWatch[] = await Promise.all(names.map((n) => watchPublishingPod(root, n)));
    // Each pod's forwarder is seen before the removal that must end it.
    expect(watches.map((w) => w.processes.filter((p) => p.role === 'forwarder').length)).toEqual(names.map(() => 1));
    const rssMiB = pods.reduce((n, p) => n + rssKiB(p.supervisorPid), 0) / 1024;
    const r0 = Date.now();
    const rm = nsbox(root, ['pod', 'rm', '-f', ...names]);
    expect(rm.code, rm.stderr).toBe(0);
    console.log(`load: ${PODS} pods with httpd up in ${((up - started) / 1000).toFixed(1)} s, all answering; supervisors ${rssMiB.toFixed(0)} MiB RSS in all; pod rm -f of all ${((Date.now() - r0) / 1000).toFixed(1)} s`);
    for (const p of pods) expect(isGoneOrZombie(p.pausePid) && isGoneOrZombie(p.supervisorPid)).toBe(true);
    expect(podDirs(root)).toEqual([]);
    expect(await leftoverProcesses(root, watches)).toEqual([]);
    for (const w of watches) w.close();
    // Every port answered above; now every one is refused.
    const refused = await Promise.all(ports.map(portRefused));
    expect(ports.filter((_p, i) => !refused[i])).toEqual([]);
  }, 300_000);

  it('1000 execs into one pod: no fd, zombie or address-space growth in the calling process, which does the joining', async () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'soak']).code).toBe(0);
    expect(nsbox(root, ['run', '-d', '--pod', 'soak', '--name', 'app', 'busybox', 'sleep', '600']).code).toBe(0);
    const pod = getPod('soak', { root });
    const app = await pod.container('app');
    // pod.exec and exec --join clone from this process (the shim joins the
    // pause's or the container's namespaces): this process does the work.
    const round = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const r = i % 2 ? await pod.exec(['true']) : await app.exec(['true']);
        if (r.exitCode !== 0) throw new Error(`exec ${i}: exit ${r.exitCode}: ${r.stderr}`);
      }
    };
    await round(100); // warm-up: lazy loads, first allocations
    await round(1000); // the JS heap settles to its working size
    const before = { fds: fdCount(process.pid), vm: statusKiB(process.pid, 'VmSize'), rss: rssKiB(process.pid) };
    const t0 = Date.now();
    await round(1000);
    const ms = Date.now() - t0;
    await waitFor(() => fdCount(process.pid) <= before.fds, 5000, 'this process to close its exec fds');
    const after = { fds: fdCount(process.pid), vm: statusKiB(process.pid, 'VmSize'), rss: rssKiB(process.pid) };
    console.log(`soak: 1000 execs (half pod exec, half exec --join app) in ${ms} ms; caller fds ${before.fds} -> ${after.fds}, VmSize ${before.vm} -> ${after.vm} KiB, RSS ${before.rss} -> ${after.rss} KiB`);
    expect(after.fds).toBe(before.fds);
    expect(zombieChildrenOf(process.pid)).toEqual([]);
    // Each exec maps 768 KiB of clone stacks and unmaps them: leaking them (or
    // any 64 KiB per exec) would add 64 MiB or more over 1000 execs.
    expect(after.vm - before.vm).toBeLessThan(64 * 1024);
    expect(nsbox(root, ['pod', 'rm', '-f', 'soak']).code).toBe(0);
  }, 180_000);

  it('300 supervisor requests (run, wait, rm, ping): no fd or zombie growth in the supervisor, which serves them', async () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'served']).code).toBe(0);
    const pod = getPod('served', { root });
    const supervisor = pod.info().supervisorPid;
    const watch = watchPod(root, 'served');
    // One cycle: a container made, run to its end, waited for and removed by
    // the supervisor, and a ping on its socket.
    const cycle = async (i: number) => {
      const c = await pod.run('busybox', { name: `c${i}`, command: ['true'] });
      expect((await pod.waitContainer(c.name)).exitCode).toBe(0); // asks even when it has exited already
      await c.remove();
      await pod.ping();
    };
    for (let i = 0; i < 10; i++) await cycle(i); // warm-up
    const settled = () => ({ fds: fdCount(supervisor), children: childrenOf(supervisor).length });
    const before = { ...settled(), rss: rssKiB(supervisor) };
    const t0 = Date.now();
    for (let i = 10; i < 85; i++) await cycle(i);
    const ms = Date.now() - t0;
    // A connection may still be closing on the supervisor's side: a leak would stay.
    await waitFor(() => fdCount(supervisor) <= before.fds, 5000, 'the supervisor to be back to its fds');
    const after = { ...settled(), rss: rssKiB(supervisor) };
    console.log(`supervisor: 75 x (run, wait, rm, ping) in ${ms} ms; fds ${before.fds} -> ${after.fds}, children ${before.children} -> ${after.children}, RSS ${before.rss} -> ${after.rss} KiB`);
    expect(after).toMatchObject({ fds: before.fds, children: before.children });
    expect(zombieChildrenOf(supervisor)).toEqual([]);
    expect(JSON.parse(nsbox(root, ['ps', '-a', '--pod', 'served', '--format', 'json']).stdout)).toEqual([]);
    // Only the pause is left in the pod.
    expect(liveProcesses().filter((p) => p.pidNs === watch.pidNs).map((p) => readProc(p.pid)?.argv.join(' '))).toEqual(['/pause']);
    expect(nsbox(root, ['pod', 'rm', '-f', 'served']).code).toBe(0);
    expect(await leftoverProcesses(root, [watch])).toEqual([]);
    watch.close();
  }, 180_000);
});
