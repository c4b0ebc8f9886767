// Safe extraction: every archive here tries to write outside the image (or
// the archive) and must be refused with a one-line error naming the entry,
// with nothing written outside, no layer, no scratch directory and no record
// left behind.
import { mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { importImage, listImages, NsboxError } from '../dist/index.js';
import { removeStoreTree, sha256, tarBuffer, writeDockerSave, writeOciDir, writeTar, type TarEntry } from './helpers/archives.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';

let root: string;
let store: string;
let outside: string;
let sentinel: string;
let n = 0;

beforeAll(() => {
  root = tempRoot();
  // The store sits three levels down, so ../../.. from a layer reaches `outside`.
  store = join(root, 'a', 'b');
  outside = join(root, 'outside');
  mkdirSync(store, { recursive: true, mode: 0o700 });
  mkdirSync(outside);
  sentinel = join(outside, 'sentinel');
});
beforeEach(() => writeFileSync(sentinel, 'untouched\n'));
afterAll(async () => {
  await removeStoreTree(join(store, 'images'));
  cleanupRoot(root);
});

/** Imports and expects a refusal; returns the one-line message. */
async function refused(file: string): Promise<string> {
  const err = await importImage(file, { root: store, name: 'evil' }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NsboxError);
  const line = (err as NsboxError).oneLine();
  expect(line).not.toContain('\n');
  // Nothing outside changed, and no trace of the import in the store.
  expect(readFileSync(sentinel, 'utf8')).toBe('untouched\n');
  expect(readdirSync(outside).sort()).toEqual(['sentinel']);
  expect(readdirSync(join(store, 'images', 'layers'))).toEqual([]);
  expect(readdirSync(join(store, 'images', 'tmp'))).toEqual([]);
  expect(readdirSync(join(store, 'images')).filter((f) => f.endsWith('.json') && f !== 'names.json')).toEqual([]);
  expect(listImages({ root: store })).toEqual([]);
  return line;
}

function tar(entries: TarEntry[]): string {
  return writeTar(join(root, `evil-${++n}.tar`), [{ path: 'ok/', type: 'dir' }, { path: 'ok/file', content: 'fine' }, ...entries]);
}

describe(`safe extraction (${testMode})`, () => {
  it('refuses `..` traversal', async () => {
    expect(await refused(tar([{ path: '../../../outside/sentinel', content: 'pwned' }]))).toBe(
      'rootfs ' + join(root, `evil-${n}.tar`) + ': entry "../../../outside/sentinel" has a ".." component: refusing to write outside the image; nothing was imported',
    );
    expect(await refused(tar([{ path: 'ok/../../../../outside/new', content: 'pwned' }]))).toMatch(/entry "ok\/\.\.\/\.\.\/\.\.\/\.\.\/outside\/new" has a "\.\." component/);
  });

  it('refuses absolute paths', async () => {
    expect(await refused(tar([{ path: `${outside}/abs`, content: 'pwned' }]))).toMatch(/entry ".*\/outside\/abs" has an absolute path: refusing to write outside the image/);
  });

  it('refuses a write through a symlink planted earlier in the archive', async () => {
    // An absolute symlink is allowed (it resolves inside the container), but never followed here.
    expect(await refused(tar([{ path: 'evil', type: 'symlink', linkpath: outside }, { path: 'evil/sentinel', content: 'pwned' }]))).toMatch(
      /entry "evil\/sentinel" would be written through the symlink "evil"/,
    );
    expect(await refused(tar([{ path: 'ok/dir', type: 'symlink', linkpath: '/etc' }, { path: 'ok/dir/passwd', content: 'pwned' }]))).toMatch(
      /entry "ok\/dir\/passwd" would be written through the symlink "ok\/dir"/,
    );
    // ... also when the symlink replaces a directory made earlier
    expect(
      await refused(tar([{ path: 'd/', type: 'dir' }, { path: 'd/x', content: '1' }, { path: 'd', type: 'symlink', linkpath: outside }, { path: 'd/new', content: 'pwned' }])),
    ).toMatch(/entry "d\/new" would be written through the symlink "d"/);
  });

  it('refuses symlinks whose relative target climbs out of the rootfs', async () => {
    expect(await refused(tar([{ path: 'ok/esc', type: 'symlink', linkpath: '../../../../outside' }]))).toMatch(
      /entry "ok\/esc" is a symlink to "\.\.\/\.\.\/\.\.\/\.\.\/outside", outside the rootfs/,
    );
  });

  it('refuses hard links out of the layer, through symlinks, or to what the layer lacks', async () => {
    expect(await refused(tar([{ path: 'h', type: 'link', linkpath: '../../../outside/sentinel' }]))).toMatch(/entry "h" is a hard link to "\.\.\/\.\.\/\.\.\/outside\/sentinel", outside the layer/);
    expect(await refused(tar([{ path: 'h', type: 'link', linkpath: sentinel }]))).toMatch(/entry "h" is a hard link to ".*sentinel", outside the layer/);
    expect(await refused(tar([{ path: 's', type: 'symlink', linkpath: outside }, { path: 'h', type: 'link', linkpath: 's/sentinel' }]))).toMatch(
      /entry "h" is a hard link through the symlink "s"/,
    );
    expect(await refused(tar([{ path: 'h', type: 'link', linkpath: 'etc/passwd' }]))).toMatch(/entry "h" is a hard link into "etc", which is not in this layer/);
  });

  it('refuses a docker save manifest or config path that escapes the archive', async () => {
    const layer = { entries: [{ path: 'f', content: 'x' }] };
    const file = join(root, 'evil-manifest.tar');
    writeDockerSave(file, [{ layers: [layer] }], { manifestOverride: [{ Config: '../../outside/sentinel', RepoTags: ['e:1'], Layers: [] }] });
    expect(await refused(file)).toMatch(/config path "\.\.\/\.\.\/outside\/sentinel" escapes the archive/);
    writeDockerSave(file, [{ layers: [layer] }]);
    const manifest = JSON.parse(readFileSync(file).toString('latin1').match(/\[\{"Config".*?\]\}\]/)![0]);
    writeDockerSave(file, [{ layers: [layer] }], { manifestOverride: [{ ...manifest[0], Layers: ['../../outside/sentinel'] }] });
    expect(await refused(file)).toMatch(/layer path "\.\.\/\.\.\/outside\/sentinel" escapes the archive/);
    writeDockerSave(file, [{ layers: [layer] }], { manifestOverride: [{ ...manifest[0], Layers: [sentinel] }] });
    expect(await refused(file)).toMatch(/layer path ".*sentinel" is absolute: it escapes the archive/);
    // a member symlink that points out of the archive
    writeDockerSave(file, [{ layers: [layer] }], {
      manifestOverride: [{ ...manifest[0], Layers: ['0000000000000000000000000000000000000000000000000000000000000000/layer.tar'] }],
      extra: [{ path: '0000000000000000000000000000000000000000000000000000000000000000/layer.tar', type: 'symlink', linkpath: '../../../outside/sentinel' }],
    });
    expect(await refused(file)).toMatch(/escapes the archive/);
  });

  it('refuses an OCI blob that resolves outside the layout directory', async () => {
    const spec = { layers: [{ entries: [{ path: 'f', content: 'x' }] }] };
    const dir = writeOciDir(join(root, 'evil-oci'), spec);
    const elsewhere = join(root, 'elsewhere');
    mkdirSync(elsewhere);
    // The layer blob becomes a symlink to a copy of itself outside the layout.
    const layerBlob = join(dir, 'blobs', 'sha256', sha256(tarBuffer(spec.layers[0]!.entries)));
    renameSync(layerBlob, join(elsewhere, 'blob'));
    symlinkSync(join(elsewhere, 'blob'), layerBlob);
    expect(await refused(dir)).toMatch(/layer blob "blobs\/sha256\/[0-9a-f]{64}" resolves to .*\/elsewhere\/blob, outside directory .*evil-oci/);
  });

  it('skips device nodes, counting them in the summary, and keeps going', async () => {
    const { importImages } = await import('../dist/index.js');
    const r = await importImages(tar([{ path: 'dev/', type: 'dir' }, { path: 'dev/null', type: 'char' }, { path: 'dev/sda', type: 'block' }, { path: 'dev/fifo', type: 'fifo' }]), { root: store });
    expect(r.summary).toMatch(/, 3 device nodes skipped\)$/);
    const { removeImage } = await import('../dist/index.js');
    await removeImage(r.images[0]!.id, { root: store });
  });

  it('refuses corrupted, truncated and non-tar archives with one line each', async () => {
    const good = tarBuffer([{ path: 'dir/', type: 'dir' }, ...Array.from({ length: 20 }, (_, i) => ({ path: `dir/f${i}`, content: 'x'.repeat(4000) }))]);
    const truncated = join(root, 'truncated.tar');
    writeFileSync(truncated, good.subarray(0, Math.floor(good.length / 2) + 100));
    expect(await refused(truncated)).toMatch(/not a valid tar archive|ended early|truncated/);
    const corrupt = Buffer.from(good);
    corrupt.fill(0x41, 512 + 4608, 512 + 4608 + 512); // the third entry's header overwritten
    writeFileSync(join(root, 'corrupt.tar'), corrupt);
    expect(await refused(join(root, 'corrupt.tar'))).toMatch(/not a valid tar archive \(checksum failure\)/);
    writeFileSync(join(root, 'truncated.tgz'), gzipSync(good).subarray(0, 200));
    expect(await refused(join(root, 'truncated.tgz'))).toMatch(/corrupt gzip data/);
    writeFileSync(join(root, 'text.tar'), 'hello, I am not an archive\n'.repeat(50));
    expect(await refused(join(root, 'text.tar'))).toMatch(/is not an archive \(neither tar nor gzip\)/);
  });

  it('refuses an image with thousands of layers before extracting any', async () => {
    const layers = Array.from({ length: 2000 }, (_, i) => ({ entries: [{ path: `f${i}`, content: String(i) }] }));
    const file = writeDockerSave(join(root, 'many-layers.tar'), [{ layers, repoTags: ['many:1'] }]);
    expect(await refused(file)).toMatch(/an image has 2000 layers; nsbox takes at most 128: squash the image/);
  });

  it('refuses a tar that would expand beyond the bound, at its header, before writing it', async () => {
    // 256 MiB of zeros: a 256 KiB gzip bomb against a 16 MiB bound.
    const bomb = join(root, 'bomb.tgz');
    writeFileSync(bomb, gzipSync(tarBuffer([{ path: 'small', content: 'ok' }, { path: 'huge', content: Buffer.alloc(256 * 2 ** 20) }])));
    process.env.NSBOX_IMAGE_MAX_SIZE = '16M';
    try {
      expect(await refused(bomb)).toMatch(/expands beyond 16 MiB \(at "huge"\).*NSBOX_IMAGE_MAX_SIZE/);
    } finally {
      delete process.env.NSBOX_IMAGE_MAX_SIZE;
    }
  });
});
