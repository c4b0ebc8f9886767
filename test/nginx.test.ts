// nginx from the mmdebstrap recipe, in a pod: it serves on the pod's
// loopback with its workers running as www-data, which needs the full
// subuid mapping rootless. The first run builds the tarball (~30 s, Debian
// mirror); later runs use the cache. NSBOX_SKIP_NGINX=1 skips it, loudly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain ESM module; types in rootfs/build.d.mts
import { buildRootfs } from '../rootfs/build.mjs';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { nsbox, waitFor, removeAllPods } from './helpers/nsbox.js';

const skip = process.env.NSBOX_SKIP_NGINX === '1';
let root: string;

beforeAll(async () => {
  if (skip) return;
  root = tempRoot();
  const tarball: string = await buildRootfs('nginx', { log: false, cacheDir: process.env.NSBOX_TEST_ROOTFS_CACHE || undefined });
  const imported = nsbox(root, ['image', 'import', tarball, '--name', 'nginx']);
  expect(imported.code, imported.stderr).toBe(0);
  expect(nsbox(root, ['pod', 'create', '--name', 'web']).code).toBe(0);
}, 600_000);
afterAll(() => {
  if (skip) return;
  removeAllPods(root);
  cleanupRoot(root);
});

describe.skipIf(skip)(`nginx in a pod (${testMode}${skip ? ', SKIPPED by NSBOX_SKIP_NGINX=1' : ''})`, () => {
  it('serves on the pod loopback, with worker processes running as www-data', async () => {
    const run = nsbox(root, ['run', '-d', '--pod', 'web', '--name', 'nginx', 'nginx', 'nginx', '-g', 'daemon off;']);
    expect(run.code, run.stderr).toBe(0);
    let page = '';
    await waitFor(() => {
      page = nsbox(root, ['exec', 'web', '--', '/bin/busybox', 'wget', '-qO-', 'http://127.0.0.1/']).stdout;
      return page.includes('Welcome to nginx');
    }, 15_000, 'nginx to answer');
    expect(page).toMatch(/<title>Welcome to nginx!<\/title>/);
    const ps = nsbox(root, ['exec', '--join', 'pause', 'web', '--', 'ps', '-eo', 'uid=,args=']).stdout;
    const workers = ps.split('\n').filter((l) => l.includes('nginx: worker process'));
    expect(workers.length).toBeGreaterThan(0);
    for (const w of workers) expect(w.trim().split(/\s+/)[0]).toBe('33');
    expect(ps).toMatch(/^\s*0\s+nginx: master process/m);
    // The access log goes to the container's log file via its own files, not stdout: check nginx is still up.
    expect(nsbox(root, ['ps', '--pod', 'web']).stdout).toMatch(/web\/nginx .*Up/);
    expect(nsbox(root, ['stop', 'web/nginx']).code).toBe(0);
  });
});
