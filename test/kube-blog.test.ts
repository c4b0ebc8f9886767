// The blog pod from scripts/blog/blog-pod.yaml: `kube play --wait` of the
// repository's file (its hostPort and Ghost's url moved to a free port)
// brings up what `npm run demo` does, Ghost's home page through nginx, and
// `kube down` of it takes everything away. It reuses the rootfs cache of the
// blog test (NSBOX_TEST_ROOTFS_CACHE); NSBOX_SKIP_BLOG=1 skips it, loudly.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain ESM module; types in rootfs/build.d.mts
import { buildRootfs } from '../rootfs/build.mjs';
// @ts-expect-error: plain ESM module shared with the demo
import { imageNameFor, KUBE_YAML_FILE, kubeBlogCommands, waitForBlog } from '../scripts/lib/blog-pod.mjs';
import { removeStoreTree } from './helpers/archives.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { freePort, portRefused } from './helpers/net.js';
import { nsbox, nsboxAsync, podDirs, removeAllPods } from './helpers/nsbox.js';

const skip = process.env.NSBOX_SKIP_BLOG === '1';
const cacheDir = process.env.NSBOX_TEST_ROOTFS_CACHE || undefined;
let root: string;
let port: number;
let images: { ghost: string; nginx: string };

beforeAll(async () => {
  if (skip) return;
  root = tempRoot();
  const nginxTar: string = await buildRootfs('nginx', { log: false, cacheDir });
  const ghostTar: string = await buildRootfs('ghost', { log: false, cacheDir });
  images = { nginx: imageNameFor('nginx', nginxTar), ghost: imageNameFor('ghost', ghostTar) };
  // Imported by a child the worker does not wait on synchronously: a minute-long
  // spawnSync of Ghost's import would starve vitest's worker RPC.
  for (const [name, tar] of [[images.nginx, nginxTar], [images.ghost, ghostTar]] as const) {
    const r = await nsboxAsync(root, ['image', 'import', tar, '--name', name]);
    if (r.code !== 0) throw new Error(`importing ${tar} failed (exit ${r.code}): ${r.stderr}`);
  }
  port = await freePort();
}, 90 * 60_000);
afterAll(async () => {
  if (skip) return;
  removeAllPods(root);
  await removeStoreTree(join(root, 'images'));
  cleanupRoot(root);
}, 10 * 60_000);

describe.skipIf(skip)(`the blog pod from its Kubernetes YAML (${testMode}${skip ? ', SKIPPED by NSBOX_SKIP_BLOG=1' : ''})`, () => {
  it('kube play --wait of scripts/blog/blog-pod.yaml serves Ghost through nginx; kube down removes it all', async () => {
    // The repository's file, with the host port a free one (8080 may be taken on a test machine).
    const yaml = readFileSync(KUBE_YAML_FILE, 'utf8').replace('hostPort: 8080', `hostPort: ${port}`).replace('http://localhost:8080', `http://localhost:${port}`);
    expect(yaml).toContain(`hostPort: ${port}`);
    const file = join(root, 'blog-pod.yaml');
    writeFileSync(file, yaml);
    for (const args of kubeBlogCommands({ ghostImage: images.ghost, nginxImage: images.nginx, file }) as string[][]) {
      const r = args[0] === 'kube' ? await nsboxAsync(root, args) : nsbox(root, args);
      expect(r.code, `nsbox ${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    // --wait returned once nginx's readiness probe (GET / through to Ghost) passed: the page is there now.
    const res = await fetch(`http://127.0.0.1:${port}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/<title>Ghost<\/title>/);
    expect((await waitForBlog(`http://127.0.0.1:${port}/`, 10_000)).title).toBe('Ghost');
    expect(nsbox(root, ['exec', '--join', 'nginx', 'blog', '--', 'cat', '/etc/nginx/nginx.conf']).stdout).toBe(readFileSync(join(KUBE_YAML_FILE, '..', 'nginx.conf'), 'utf8'));
    const down = nsbox(root, ['kube', 'down', file]);
    expect(down.code, down.stderr).toBe(0);
    expect(podDirs(root)).toEqual([]);
    expect(await portRefused(port)).toBe(true);
  }, 300_000);
});
