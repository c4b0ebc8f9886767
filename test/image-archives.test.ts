// Import of the archives real clients write: real skopeo copies an OCI layout
// the test builds (busybox + a layer with a whiteout) to docker-archive:,
// oci-archive: and oci:; the test writes crane's names (sha256:<hex> config,
// <hex>.tar.gz layers), Docker 25+'s save (an OCI layout with manifest.json)
// and old docker save (<hex>/layer.tar). Each is classified by its manifest,
// keeps the image's layers (not one rootfs of the archive's files) and runs.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectImage } from '../dist/index.js';
import { removeStoreTree, sha256, tarBuffer, writeTar, type TarEntry } from './helpers/archives.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { nsbox, removeAllPods } from './helpers/nsbox.js';
import { busyboxLayers, skopeo, writeLayout, type WrittenManifest } from './helpers/oci-images.js';

let root: string;
let work: string;
let layout: string;
let base: Buffer;
let top: Buffer;
let written: WrittenManifest;

beforeAll(async () => {
  root = tempRoot();
  work = join(root, 'work');
  mkdirSync(work);
  ({ base, top } = await busyboxLayers(work));
  layout = join(work, 'layout');
  written = writeLayout(layout, { layers: [{ tar: base }, { tar: top, compression: 'none' }], cmd: ['cat', '/srv/second.txt'] }, 'v1');
}, 60_000);
afterAll(async () => {
  if (!root) return;
  removeAllPods(root);
  await removeStoreTree(join(root, 'images'));
  await removeStoreTree(join(root, 'zstore', 'images'));
  cleanupRoot(root);
});

/** Imports FILE, then runs the image: its second layer's file is there, the whited-out one is gone. */
function importAndRun(file: string, name: string | null, ref: string): void {
  const r = nsbox(root, ['image', 'import', file, ...(name ? ['--name', name] : [])]);
  expect(r.stderr).toMatch(/^imported .*\(sha256:[0-9a-f]{12}…, 2 layers\b/);
  expect(r.code).toBe(0);
  expect(inspectImage(ref, { root }).layers).toEqual(written.diffIds);
  const run = nsbox(root, ['run', '--rm', ref, 'sh', '-c', 'cat /srv/second.txt; test -e /srv/hello.txt && echo hello-still-there; busybox true && echo ran']);
  expect(run.stderr).toBe('');
  expect(run.stdout).toBe('from the second layer\nran\n');
  expect(run.code).toBe(0);
}

function configOf(): Buffer {
  return readFileSync(join(layout, 'blobs', 'sha256', written.configDigest.slice(7)));
}

describe(`importing archives real clients write (${testMode})`, () => {
  it("imports skopeo's docker-archive: (<hex>.tar layers, <hex>.json config) with its name, and runs it", () => {
    const file = join(work, 'docker-archive.tar');
    skopeo(['copy', '-q', `oci:${layout}:v1`, `docker-archive:${file}:example.com/team/bb:v1`], work);
    importAndRun(file, null, 'example.com/team/bb:v1');
  });

  it("imports skopeo's oci-archive: and runs it", () => {
    const file = join(work, 'oci-archive.tar');
    skopeo(['copy', '-q', `oci:${layout}:v1`, `oci-archive:${file}:v1`], work);
    importAndRun(file, 'ociarchive', 'ociarchive');
  });

  it("imports skopeo's oci: directory and runs it", () => {
    const dir = join(work, 'oci-dir');
    skopeo(['copy', '-q', `oci:${layout}:v1`, `oci:${dir}:v1`], work);
    importAndRun(dir, 'ocidir', 'ocidir');
  });

  it('imports an OCI layout whose layers are zstd-compressed (skopeo copies them as they are) and runs it', () => {
    const zlayout = join(work, 'zstd-layout');
    writeLayout(zlayout, { layers: [{ tar: base, compression: 'zstd' }, { tar: top, compression: 'zstd' }] }, 'v1');
    const dir = join(work, 'zstd-oci');
    skopeo(['copy', '-q', `oci:${zlayout}:v1`, `oci:${dir}:v1`], work);
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const manifest = JSON.parse(readFileSync(join(dir, 'blobs', 'sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as { layers: { mediaType: string }[] };
    expect(manifest.layers.map((l) => l.mediaType)).toEqual(['application/vnd.oci.image.layer.v1.tar+zstd', 'application/vnd.oci.image.layer.v1.tar+zstd']);
    // A store of its own, so the layers are decoded, not found by diff_id.
    const z = join(root, 'zstore');
    mkdirSync(z, { mode: 0o700 });
    const r = nsbox(z, ['image', 'import', dir, '--name', 'zstd']);
    expect(r.code).toBe(0);
    expect(inspectImage('zstd', { root: z }).layers).toEqual(written.diffIds);
    const run = nsbox(z, ['run', '--rm', 'zstd', 'cat', '/srv/second.txt']);
    expect(run.stdout).toBe('from the second layer\n');
    removeAllPods(z);
  });

  it("imports crane's names: a sha256:<hex> config and gzipped <hex>.tar.gz layers, gzipped whole too", () => {
    const config = configOf();
    const layers = [gzipSync(base), gzipSync(top)];
    const names = layers.map((l) => `${sha256(l)}.tar.gz`);
    const entries: TarEntry[] = [
      { path: `sha256:${sha256(config)}`, content: config },
      ...layers.map((l, i) => ({ path: names[i]!, content: l })),
      { path: 'manifest.json', content: JSON.stringify([{ Config: `sha256:${sha256(config)}`, RepoTags: ['crane.example/app:1'], Layers: names }]) },
    ];
    const file = join(work, 'crane.tar.gz');
    writeFileSync(file, gzipSync(tarBuffer(entries)));
    importAndRun(file, null, 'crane.example/app:1');
  });

  it("imports Docker 25+'s save: an OCI layout whose manifest.json names blobs/sha256/<hex>", () => {
    const entries: TarEntry[] = [];
    const add = (digest: string) => {
      const p = `blobs/sha256/${digest.slice(7)}`;
      entries.push({ path: p, content: readFileSync(join(layout, p)) });
      return p;
    };
    const configPath = add(written.configDigest);
    const layerPaths = written.layerDigests.map(add);
    add(written.digest);
    entries.push({ path: 'oci-layout', content: readFileSync(join(layout, 'oci-layout')) });
    entries.push({ path: 'index.json', content: readFileSync(join(layout, 'index.json')) });
    entries.push({ path: 'manifest.json', content: JSON.stringify([{ Config: configPath, RepoTags: ['docker25:latest'], Layers: layerPaths }]) });
    importAndRun(writeTar(join(work, 'docker25.tar'), entries), null, 'docker25:latest');
  });

  it('imports old docker save: <hex>/layer.tar, <hex>.json, repositories', () => {
    const config = configOf();
    const ids = [sha256('layer-a'), sha256('layer-b')];
    const entries: TarEntry[] = [
      ...[base, top].flatMap((t, i): TarEntry[] => [
        { path: `${ids[i]}/`, type: 'dir' },
        { path: `${ids[i]}/VERSION`, content: '1.0' },
        { path: `${ids[i]}/layer.tar`, content: t },
      ]),
      { path: `${sha256(config)}.json`, content: config },
      { path: 'manifest.json', content: JSON.stringify([{ Config: `${sha256(config)}.json`, RepoTags: ['olddocker:1'], Layers: ids.map((id) => `${id}/layer.tar`) }]) },
      { path: 'repositories', content: JSON.stringify({ olddocker: { '1': ids[1] } }) },
    ];
    importAndRun(writeTar(join(work, 'olddocker.tar'), entries), null, 'olddocker:1');
  });

  it('a rootfs whose manifest.json is no image manifest stays a rootfs (classified by content, not by name)', () => {
    const entries: TarEntry[] = [
      { path: 'manifest.json', content: '{"name":"my-web-app","version":"1.0.0"}' },
      { path: 'index.json', content: '{}' },
      { path: 'app.js', content: 'console.log(1)\n' },
    ];
    const file = writeTar(join(work, 'webapp.tar'), entries);
    const r = nsbox(root, ['image', 'import', file, '--name', 'webapp']);
    expect(r.code).toBe(0);
    const img = inspectImage('webapp', { root });
    expect(img.source).toBe('rootfs');
    expect(img.layers).toEqual([`sha256:${sha256(readFileSync(file))}`]);
    expect(readFileSync(join(img.layerDirs[0]!, 'manifest.json'), 'utf8')).toContain('my-web-app');
  });
});
