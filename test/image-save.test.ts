// nsbox image save writes docker-archive, oci-archive and oci-dir that real
// skopeo reads back with the image's own id (config digest) and layer
// diff_ids: the layer tars are rebuilt byte for byte from the store. Then
// image load (import) of each into a fresh store gives the same image, and
// it runs. image tag adds names.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectImage } from '../dist/index.js';
import { removeStoreTree, tarBuffer } from './helpers/archives.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { nsbox, removeAllPods } from './helpers/nsbox.js';
import { busyboxLayers, skopeo, writeLayout, type WrittenManifest } from './helpers/oci-images.js';

let root: string;
let work: string;
let image: WrittenManifest;
let id: string;

beforeAll(async () => {
  root = tempRoot();
  work = join(root, 'work');
  mkdirSync(work);
  const { base, top } = await busyboxLayers(work);
  // A third layer with a name longer than ustar holds (a pax header) and an owner the user namespace maps.
  const long = `srv/${'deep/'.repeat(30)}file.txt`;
  const third = tarBuffer([{ path: 'srv/', type: 'dir' }, { path: long, content: 'long name\n', uid: 33, gid: 33 }]);
  image = writeLayout(join(work, 'layout'), { layers: [{ tar: base }, { tar: top, compression: 'none' }, { tar: third }], cmd: ['cat', '/srv/second.txt'] }, 'v1');
  const r = nsbox(root, ['image', 'import', join(work, 'layout'), '--name', 'saved/app:v1']);
  if (r.code !== 0) throw new Error(r.stderr);
  id = r.stdout.trim();
}, 60_000);
afterAll(async () => {
  if (!root) return;
  removeAllPods(root);
  await removeStoreTree(join(root, 'images'));
  cleanupRoot(root);
});

/** The config digest and layer digests of the image skopeo copies out of `src` into an OCI dir. */
function readBack(src: string, dest: string): { config: string; layers: string[] } {
  skopeo(['copy', '-q', '--dest-oci-accept-uncompressed-layers', src, `oci:${dest}:x`], work);
  const index = JSON.parse(readFileSync(join(dest, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(readFileSync(join(dest, 'blobs', 'sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as { config: { digest: string }; layers: { digest: string }[] };
  return { config: manifest.config.digest, layers: manifest.layers.map((l) => l.digest) };
}

describe(`image save and load (${testMode})`, () => {
  it('image tag adds a name to a stored image', () => {
    expect(nsbox(root, ['image', 'tag', 'saved/app:v1', 'other:2']).code).toBe(0);
    expect(inspectImage('other:2', { root }).id).toBe(id);
    expect(inspectImage('saved/app:v1', { root }).names).toEqual(['saved/app:v1', 'other:2']);
  });

  it.each([
    ['docker-archive', (f: string) => `docker-archive:${f}`],
    ['oci-archive', (f: string) => `oci-archive:${f}:v1`],
    ['oci-dir', (f: string) => `oci:${f}:v1`],
  ] as const)('writes %s that skopeo reads with the same id and diff_ids; load gives the same image, and it runs', async (format, transport) => {
    const out = join(work, `saved-${format}`);
    const r = nsbox(root, ['image', 'save', '--format', format, '-o', out, 'saved/app:v1']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    if (format === 'docker-archive') {
      const inspect = JSON.parse(skopeo(['inspect', transport(out)], work)) as { RepoTags?: string[]; Layers: string[] };
      expect(inspect.Layers).toEqual(image.diffIds);
      const raw = JSON.parse(skopeo(['inspect', '--raw', transport(out)], work)) as { config: { digest: string } };
      expect(raw.config.digest).toBe(`sha256:${id}`);
    } else {
      const back = readBack(transport(out), join(work, `back-${format}`));
      expect(back.config).toBe(`sha256:${id}`);
      expect(back.layers).toEqual(image.diffIds);
    }

    const fresh = join(root, `fresh-${format}`);
    mkdirSync(fresh, { mode: 0o700 });
    try {
      const load = nsbox(fresh, ['image', 'load', '-i', out]);
      expect(load.code).toBe(0);
      const loaded = inspectImage(format === 'docker-archive' ? 'saved/app:v1' : load.stdout.includes('Loaded image: sha256:') ? load.stdout.trim().split('sha256:')[1]! : 'saved/app:v1', { root: fresh });
      expect(loaded.id).toBe(id);
      expect(loaded.layers).toEqual(image.diffIds);
      const run = nsbox(fresh, ['run', '--rm', loaded.id, 'sh', '-c', `cat /srv/second.txt; stat -c %u /srv/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/file.txt`]);
      expect(run.stdout).toBe('from the second layer\n33\n');
    } finally {
      removeAllPods(fresh);
      await removeStoreTree(join(fresh, 'images'));
    }
  });

  it('refuses an output that exists and a format it does not write, leaving nothing', () => {
    const out = join(work, 'exists.tar');
    writeFileSync(out, 'keep me');
    const r = nsbox(root, ['image', 'save', '-o', out, 'saved/app:v1']);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/exists.tar already exists: remove it or choose another -o path/);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    const bad = nsbox(root, ['image', 'save', '--format', 'zip', '-o', join(work, 'x.zip'), 'saved/app:v1']);
    expect(bad.stderr).toMatch(/--format "zip" is not one nsbox writes: use docker-archive, oci-archive, oci-dir/);
    expect(existsSync(join(work, 'x.zip'))).toBe(false);
  });
});
