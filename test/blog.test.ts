// The reference scenario end to end: a pod whose nginx, published on a host
// port, proxies to Ghost at 127.0.0.1:2368, both from the rootfs recipes
// (rootfs/nginx, rootfs/ghost) and brought up with the same commands as
// `npm run demo` (scripts/lib/blog-pod.mjs). The first run builds the
// tarballs (minutes, registries needed); later runs use the cache.
// NSBOX_TEST_ROOTFS_CACHE points at a shared cache (scripts/test.mjs fills
// it once as root); NSBOX_SKIP_BLOG=1 skips the file, loudly.
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain ESM module; types in rootfs/build.d.mts
import { buildRootfs } from '../rootfs/build.mjs';
// @ts-expect-error: plain ESM module shared with the demo
import { blogCommands, ensureImage, imageNameFor, NGINX_CONF_FILE, waitForBlog } from '../scripts/lib/blog-pod.mjs';
import { removeStoreTree } from './helpers/archives.js';
import { importBusybox } from './helpers/busybox.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { freePort, portRefused } from './helpers/net.js';
import { leftoverProcesses, watchPublishingPod } from './helpers/leftovers.js';
import { isGoneOrZombie, nsbox, podDirs, removeAllPods, waitFor } from './helpers/nsbox.js';
import { makeDocker, startService } from './helpers/docker-service.js';

const skip = process.env.NSBOX_SKIP_BLOG === '1';
const cacheDir = process.env.NSBOX_TEST_ROOTFS_CACHE || undefined;
let root: string;
let port: number;
let images: { ghost: string; nginx: string };
let tarballs: { ghost: string; nginx: string };

/** Host pids of every process in the PID namespace of `pausePid`. */
function podPids(pausePid: number): number[] {
  const nsOf = (pid: number) => {
    try {
      return readlinkSync(`/proc/${pid}/ns/pid`);
    } catch {
      return null;
    }
  };
  const ns = nsOf(pausePid);
  return readdirSync('/proc')
    .map(Number)
    .filter((pid) => pid > 0 && nsOf(pid) === ns);
}

beforeAll(async () => {
  if (skip) return;
  root = tempRoot();
  const nginxTar: string = await buildRootfs('nginx', { log: false, cacheDir });
  const ghostTar: string = await buildRootfs('ghost', { log: false, cacheDir });
  images = { nginx: imageNameFor('nginx', nginxTar), ghost: imageNameFor('ghost', ghostTar) };
  tarballs = { nginx: nginxTar, ghost: ghostTar };
  ensureImage(images.nginx, nginxTar, { root });
  ensureImage(images.ghost, ghostTar, { root });
  port = await freePort();
}, 90 * 60_000);
afterAll(async () => {
  if (skip) return;
  removeAllPods(root);
  // Rootless, Ghost's files belong to subordinate ids: removed from inside the user namespace.
  await removeStoreTree(join(root, 'images'));
  cleanupRoot(root);
});

describe.skipIf(skip)(`the blog pod: nginx in front of Ghost (${testMode}${skip ? ', SKIPPED by NSBOX_SKIP_BLOG=1' : ''})`, () => {
  const url = () => `http://127.0.0.1:${port}/`;

  it("serves Ghost's home page through nginx on the published port", async () => {
    for (const args of blogCommands({ pod: 'blog', publish: `127.0.0.1:${port}:80`, url: `http://localhost:${port}`, ghostImage: images.ghost, nginxImage: images.nginx })) {
      const r = nsbox(root, args);
      expect(r.code, `nsbox ${args[0]} ${args[1]}: ${r.stderr}`).toBe(0);
    }
    const { title } = await waitForBlog(url(), 120_000);
    expect(title).toBe('Ghost');
    const page = await (await fetch(url())).text();
    expect(page).toMatch(/<title>Ghost<\/title>/);
    expect(page).toMatch(/ghost/i);
  }, 180_000);

  it('ps aux from the pause shows /pause as PID 1, nginx and node', () => {
    const ps = nsbox(root, ['exec', '--join', 'pause', 'blog', '--', 'ps', 'aux']);
    expect(ps.code).toBe(0);
    const rows = ps.stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
    const pid1 = rows.find((r) => r[1] === '1');
    expect(pid1?.slice(10).join(' ')).toBe('/pause');
    expect(ps.stdout).toMatch(/nginx: master process/);
    expect(ps.stdout).toMatch(/nginx: worker process/);
    expect(ps.stdout).toMatch(/node index\.js/);
  });

  it("nginx's access log, in the container's logs, shows the request", async () => {
    const marker = `/?e2e=${Date.now()}`;
    expect((await fetch(`http://127.0.0.1:${port}${marker}`)).status).toBe(200);
    await waitFor(() => nsbox(root, ['logs', 'blog/nginx']).stdout.includes(`"GET ${marker} HTTP/1.1" 200`), 5000, 'the access log line');
  });

  it('stopping ghost makes nginx answer 502; starting it again recovers', async () => {
    expect(nsbox(root, ['stop', 'blog/ghost']).code).toBe(0);
    expect((await fetch(url())).status).toBe(502);
    expect(nsbox(root, ['start', 'blog/ghost']).code).toBe(0);
    const { title } = await waitForBlog(url(), 120_000);
    expect(title).toBe('Ghost');
  }, 180_000);

  it('pod rm -f leaves no process (so no mount) or listening port behind', async () => {
    const record = JSON.parse(nsbox(root, ['pod', 'inspect', 'blog']).stdout).record as { id: string; pause: { pid: number } };
    const pids = podPids(record.pause.pid);
    expect(pids.length).toBeGreaterThan(3); // pause, ghost, nginx master and workers
    const watch = await watchPublishingPod(root, 'blog');
    expect((await fetch(url())).status).toBe(200); // served until now
    expect(nsbox(root, ['pod', 'rm', '-f', 'blog']).code).toBe(0);
    for (const pid of pids) expect(isGoneOrZombie(pid), `pid ${pid}`).toBe(true);
    // The containers' mounts live in their own mount namespaces, which end
    // with their last process; every such process was in the pod's PID
    // namespace, which this checks.
    expect(await leftoverProcesses(root, [watch])).toEqual([]);
    watch.close();
    expect(podDirs(root)).toEqual([]);
    expect(await portRefused(port)).toBe(true);
  }, 60_000);
});

describe.skipIf(skip)(`the seed's docker commands, through nsbox system service (${testMode})`, () => {
  it('docker run of the pause, then nginx (-v nginx.conf, -p, --net/--ipc/--pid=container:pause) and ghost as the seed writes them: Ghost through nginx on the published port, /pause as PID 1', async () => {
    // The recipe images under the seed's names, with their commands (a rootfs tarball has none).
    for (const [name, cmd] of [['nginx', '["nginx", "-g", "daemon off;"]'], ['ghost', '["/usr/local/bin/ghost-start"]']] as const) {
      const r = nsbox(root, ['image', 'import', tarballs[name], '--name', name, '--change', `CMD ${cmd}`]);
      expect(r.code, r.stderr).toBe(0);
    }
    const service = await startService(root);
    const docker = makeDocker(service.socket, root);
    const ok = (args: string[]) => {
      const r = docker(args);
      expect(r.code, `docker ${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r.stdout;
    };
    const seedPort = await freePort();
    try {
      const join3 = ['--net=container:pause', '--ipc=container:pause', '--pid=container:pause'];
      ok(['run', '-d', '--name', 'pause', 'gcr.io/google_containers/pause-amd64:3.0']);
      ok(['run', '-d', '--name', 'nginx', '-v', `${NGINX_CONF_FILE}:/etc/nginx/nginx.conf`, '-p', `127.0.0.1:${seedPort}:80`, ...join3, 'nginx']);
      ok(['run', '-d', '--name', 'ghost', ...join3, 'ghost']);
      const { title } = await waitForBlog(`http://127.0.0.1:${seedPort}/`, 120_000);
      expect(title).toBe('Ghost');
      // One PID namespace, the pause's: PID 1 is /pause, seen from nginx (whose image has no ps).
      expect(ok(['exec', 'nginx', 'cat', '/proc/1/cmdline']).split('\0')[0]).toBe('/pause');
      expect(ok(['port', 'nginx']).trim()).toBe(`80/tcp -> 127.0.0.1:${seedPort}`);
    } finally {
      docker(['rm', '-f', 'ghost', 'nginx', 'pause']);
      await service.stop();
    }
    expect(await portRefused(seedPort)).toBe(true);
  }, 300_000);
});

describe.skipIf(skip)(`why the pause exists (${testMode})`, () => {
  it('a container that orphans children in a loop leaves no zombies: the pause, PID 1, reaps them', async () => {
    await importBusybox(root);
    const hostPort = await freePort();
    expect(nsbox(root, ['pod', 'create', '--name', 'orphans', '-p', `127.0.0.1:${hostPort}:80`]).code).toBe(0);
    // Each round: a subshell starts `sleep` in the background and exits at
    // once, so the sleep is orphaned and re-parented to PID 1.
    const script = 'while :; do (sleep 0.3 &); sleep 0.02; done';
    expect(nsbox(root, ['run', '-d', '--pod', 'orphans', '--name', 'spawner', 'busybox', 'sh', '-c', script]).code).toBe(0);
    const ps = () => nsbox(root, ['exec', '--join', 'pause', 'orphans', '--', 'ps', '-eo', 'ppid=,stat=,args=']).stdout.trim().split('\n');
    let orphansSeen = 0;
    for (let i = 0; i < 15; i++) {
      orphansSeen += ps().filter((l) => /^\s*1\s+\S+\s+sleep 0\.3/.test(l)).length;
      await new Promise((r) => setTimeout(r, 200));
    }
    // Orphans came, parented to the pause...
    expect(orphansSeen).toBeGreaterThan(0);
    // ...and once the spawner is gone and the last sleep has ended, not one is
    // left a zombie. Without a reaping PID 1 every one of them would stay.
    expect(nsbox(root, ['kill', 'orphans/spawner']).code).toBe(0);
    const zombies = () => ps().filter((l) => l.trim().split(/\s+/)[1]?.startsWith('Z'));
    await waitFor(() => !ps().some((l) => /sleep 0\.3/.test(l)), 20_000, 'the orphaned sleeps to end'); // a zombie shows as [sleep] <defunct>
    await waitFor(() => zombies().length === 0, 5000, 'the last zombies to be reaped').catch(() => {});
    expect(zombies()).toEqual([]);
    expect(nsbox(root, ['pod', 'rm', '-f', 'orphans']).code).toBe(0);
  }, 60_000);
});
