// nsbox push to a real docker-registry, read back by real skopeo: the
// manifest's config is the image's own (same id), its layers are the image's
// tars (same diff_ids). A second push uploads nothing (blob HEAD checks); a
// pulled image pushed to another repository of its registry is mounted, not
// uploaded. The registry's access log says which requests were made.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushImage } from '../dist/index.js';
import { removeStoreTree } from './helpers/archives.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { nsbox, removeAllPods } from './helpers/nsbox.js';
import { busyboxLayers, skopeo, writeLayout, type WrittenManifest } from './helpers/oci-images.js';
import { startRegistry, type Registry } from './helpers/registry.js';

let root: string;
let work: string;
let registry: Registry;
let image: WrittenManifest;
let id: string;

beforeAll(async () => {
  root = tempRoot();
  work = join(root, 'work');
  mkdirSync(work);
  registry = await startRegistry(join(root, 'registry'));
  const { base, top } = await busyboxLayers(work);
  image = writeLayout(join(work, 'layout'), { layers: [{ tar: base }, { tar: top, compression: 'none' }], cmd: ['cat', '/srv/second.txt'] }, 'v1');
  const r = nsbox(root, ['image', 'import', join(work, 'layout'), '--name', 'local/app:v1']);
  if (r.code !== 0) throw new Error(r.stderr);
  id = r.stdout.trim();
}, 60_000);
afterAll(async () => {
  await registry?.stop();
  if (!root) return;
  removeAllPods(root);
  await removeStoreTree(join(root, 'images'));
  cleanupRoot(root);
});

const count = (re: RegExp) => (registry.log().match(re) ?? []).length;
const blobPuts = () => count(/"PUT \/v2\/[^ ]+\/blobs\/uploads\//g);

describe(`nsbox push (${testMode})`, () => {
  it('pushes an image that skopeo reads back with its own id and diff_ids', async () => {
    const dest = `${registry.host}/pushed/app:v1`;
    const r = nsbox(root, ['push', 'local/app:v1', dest]);
    expect(r.stderr).toMatch(/layer 1\/2 .*: uploaded\nlayer 2\/2 .*: uploaded\npushed .* \(sha256:[0-9a-f]{12}…, 2 layers: 2 uploaded, 0 mounted, 0 already there, /);
    expect(r.code).toBe(0);
    const raw = skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${dest}`], work);
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const manifest = JSON.parse(raw) as { config: { digest: string }; layers: { digest: string }[] };
    expect(manifest.config.digest).toBe(`sha256:${id}`);
    expect(manifest.layers.map((l) => l.digest)).toEqual(image.diffIds);
    const out = join(work, 'back');
    skopeo(['copy', '-q', '--src-tls-verify=false', '--dest-oci-accept-uncompressed-layers', `docker://${dest}`, `oci:${out}:v1`], work);
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const copied = JSON.parse(readFileSync(join(out, 'blobs', 'sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as { config: { digest: string }; layers: { digest: string }[] };
    expect(copied.config.digest).toBe(`sha256:${id}`);
    expect(copied.layers.map((l) => l.digest)).toEqual(image.diffIds);
  });

  it('a second push uploads no blob', async () => {
    await registry.settle();
    const before = blobPuts();
    const r = await pushImage('local/app:v1', `${registry.host}/pushed/app:v2`, { root });
    expect([r.uploaded, r.present]).toEqual([0, 2]);
    await registry.settle();
    expect(blobPuts()).toBe(before);
    expect(before).toBeGreaterThanOrEqual(3); // the control: the first push's uploads (two layers, the config) are in the log
  });

  it('a pulled image pushed to another repository of the same registry is mounted, not uploaded', async () => {
    const store = join(root, 'pulled');
    mkdirSync(store, { mode: 0o700 });
    try {
      expect(nsbox(store, ['pull', `${registry.host}/pushed/app:v1`]).code).toBe(0);
      await registry.settle();
      const before = blobPuts();
      const r = await pushImage(`${registry.host}/pushed/app:v1`, `${registry.host}/elsewhere/app:v1`, { root: store });
      expect([r.mounted, r.uploaded]).toEqual([2, 0]);
      await registry.settle();
      expect(count(/"POST \/v2\/elsewhere\/app\/blobs\/uploads\/\?mount=sha256:[0-9a-f]{64}&from=pushed%2Fapp /g)).toBe(2);
      expect(blobPuts() - before).toBe(1); // only the config
      const manifest = JSON.parse(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/elsewhere/app:v1`], work)) as { config: { digest: string } };
      expect(manifest.config.digest).toBe(`sha256:${id}`);
    } finally {
      removeAllPods(store);
      await removeStoreTree(join(store, 'images'));
    }
  });

  it('a layer above the chunk size goes in PATCHes with Content-Range, then a PUT; below it in one PUT (the control)', async () => {
    // Stores of their own, which know of no pushed blob to mount.
    const fresh = (name: string) => {
      const store = join(root, name);
      mkdirSync(store, { mode: 0o700 });
      expect(nsbox(store, ['image', 'import', join(work, 'layout'), '--name', 'local/app:v1']).code).toBe(0);
      return store;
    };
    const one = fresh('monolithic-store');
    const chunked = fresh('chunked-store');
    await registry.settle();
    const patches = () => count(/"PATCH \/v2\/chunked\/app\/blobs\/uploads\/[^ ]+ HTTP\/1\.1" 202 /g);
    const small = await pushImage('local/app:v1', `${registry.host}/monolithic/app:v1`, { root: one, chunkSize: 64 * 1024 * 1024 });
    expect(small.uploaded).toBe(2);
    await registry.settle();
    expect(count(/"PATCH \/v2\/monolithic\//g)).toBe(0);
    const lines: string[] = [];
    const r = await pushImage('local/app:v1', `${registry.host}/chunked/app:v1`, { root: chunked, chunkSize: 256 * 1024, onProgress: (l) => lines.push(l) });
    for (const store of [one, chunked]) await removeStoreTree(join(store, 'images'));
    expect(r.uploaded).toBe(2);
    expect(lines.join('\n')).toMatch(/uploaded in \d+ chunks/);
    await registry.settle();
    expect(patches()).toBeGreaterThan(2);
    // The registry put the chunks together into the right blobs: skopeo reads it back with the image's diff_ids.
    const manifest = JSON.parse(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/chunked/app:v1`], work)) as { layers: { digest: string }[] };
    expect(manifest.layers.map((l) => l.digest)).toEqual(image.diffIds);
    const out = join(work, 'chunked-back');
    skopeo(['copy', '-q', '--src-tls-verify=false', '--dest-oci-accept-uncompressed-layers', `docker://${registry.host}/chunked/app:v1`, `oci:${out}:v1`], work);
  });

  it('a pushed image pushed to a second repository is mounted from the first; a 202 to the mount falls back to an upload', async () => {
    await registry.settle();
    const r = await pushImage('local/app:v1', `${registry.host}/second/app:v1`, { root });
    expect([r.mounted, r.uploaded]).toEqual([2, 0]);
    await registry.settle();
    expect(count(/"POST \/v2\/second\/app\/blobs\/uploads\/\?mount=sha256:[0-9a-f]{64}&from=[^ ]+ HTTP\/1\.1" 201 /g)).toBe(2);
    // The fallback: the sources' repositories lose the blob (deleted through the registry's API), so the mount is answered 202 and the layer uploaded.
    const layer = image.diffIds[1]!;
    for (const repo of ['pushed/app', 'elsewhere/app', 'monolithic/app', 'chunked/app', 'second/app']) await fetch(`http://${registry.host}/v2/${repo}/blobs/${layer}`, { method: 'DELETE' });
    const before = blobPuts();
    const f = await pushImage('local/app:v1', `${registry.host}/third/app:v1`, { root });
    expect([f.mounted, f.uploaded]).toEqual([1, 1]);
    await registry.settle();
    expect(count(new RegExp(`"POST /v2/third/app/blobs/uploads/\\?mount=${layer}&from=[^ ]+ HTTP/1\\.1" 202 `, 'g'))).toBeGreaterThanOrEqual(1);
    expect(blobPuts() - before).toBe(2); // that layer and the config
    const manifest = JSON.parse(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/third/app:v1`], work)) as { layers: { digest: string }[] };
    expect(manifest.layers.map((l) => l.digest)).toEqual(image.diffIds);
  });

  it('refuses a destination without a registry, and an unknown image, with one line each', () => {
    const a = nsbox(root, ['push', 'local/app:v1', 'Bad Name']);
    expect(a.code).toBe(125);
    expect(a.stderr).toMatch(/invalid image reference/);
    const b = nsbox(root, ['push', 'nope:1', `${registry.host}/x:1`]);
    expect(b.code).toBe(125);
    expect(b.stderr).toMatch(/no image "nope:1"/);
  });
});
