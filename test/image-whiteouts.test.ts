// Whiteouts: `.wh.NAME` and `.wh..wh..opq`, with the opaque marker both
// before and after the entries of its directory. The layers are checked the
// way containers use them: mounted with overlayfs (userxattr) in a user
// namespace, and merged by materializeRootfs, the copy fallback.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importImage, layerDirs, materializeRootfs, type ImageRecord } from '../dist/index.js';
import { inUserns, removeStoreTree, writeDockerSave } from './helpers/archives.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';

let root: string;
let work: string;
let image: ImageRecord;

const base = {
  entries: [
    { path: 'a/', type: 'dir' as const },
    { path: 'a/keep', content: 'keep' },
    { path: 'a/gone', content: 'gone' },
    { path: 'b/', type: 'dir' as const },
    { path: 'b/old1', content: 'old' },
    { path: 'b/sub/', type: 'dir' as const },
    { path: 'b/sub/old2', content: 'old' },
    { path: 'c/', type: 'dir' as const },
    { path: 'c/old', content: 'old' },
    { path: 'd2/', type: 'dir' as const },
    { path: 'd2/x', content: 'x' },
    { path: 'f', content: 'file' },
    { path: 'kept', content: 'kept' },
  ],
};
// Opaque marker first, then the directory's new entries; plain whiteouts of a file, a file in a dir and a dir.
const opaqueFirst = {
  entries: [
    { path: '.wh.f', content: '' },
    { path: 'a/.wh.gone', content: '' },
    { path: 'b/.wh..wh..opq', content: '' },
    { path: 'b/', type: 'dir' as const },
    { path: 'b/new', content: 'new' },
    { path: '.wh.d2', content: '' },
  ],
};
// The directory's new entries first, the opaque marker last (as some tools write it).
const opaqueLast = {
  entries: [{ path: 'c/', type: 'dir' as const }, { path: 'c/new2', content: 'new2' }, { path: 'c/.wh..wh..opq', content: '' }, { path: 'f', content: 'again' }],
  gzip: true,
};

const expected = ['a', 'a/keep', 'b', 'b/new', 'c', 'c/new2', 'f', 'kept'];

function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      out.push(relative(dir, join(d, e.name)));
      if (e.isDirectory()) walk(join(d, e.name));
    }
  };
  walk(dir);
  return out.sort();
}

beforeAll(async () => {
  root = tempRoot();
  work = join(root, 'work');
  mkdirSync(work);
  image = await importImage(writeDockerSave(join(work, 'wh.tar'), [{ layers: [base, opaqueFirst, opaqueLast], repoTags: ['wh:test'] }]), { root });
});
afterAll(async () => {
  await removeStoreTree(join(root, 'images'));
  await removeStoreTree(join(work, 'rootfs'));
  cleanupRoot(root);
});

describe(`whiteouts (${testMode})`, () => {
  it('stores whiteouts as 0/0 character devices and opaque directories as an xattr', async () => {
    const [, l2, l3] = layerDirs(root, image);
    const r = await inUserns(['/usr/bin/stat', '-c', '%t:%T %F', join(l2!, 'f'), join(l2!, 'a/gone'), join(l2!, 'd2')], work);
    expect(r.output.split('\n').filter(Boolean)).toEqual(Array(3).fill('0:0 character special file'));
    const meta = (dir: string) => JSON.parse(readFileSync(join(dir, '..', 'layer.json'), 'utf8'));
    expect(meta(l2!)).toMatchObject({ opaqueDirs: ['b'], whiteouts: 4 });
    expect(meta(l3!)).toMatchObject({ opaqueDirs: ['c'], whiteouts: 1 });
    // No marker files are left in the layers.
    expect(readdirSync(join(l2!, 'b'))).toEqual(['new']);
    expect(readdirSync(join(l3!, 'c'))).toEqual(['new2']);
  });

  it('gives the expected view through overlayfs (lowerdir top first, userxattr) in a user namespace', async () => {
    const mnt = join(work, 'mnt');
    mkdirSync(mnt, { recursive: true });
    const lower = [...layerDirs(root, image)].reverse().join(':');
    const script = `mount -t overlay overlay -o lowerdir=${lower},userxattr ${mnt} && cd ${mnt} && find . -mindepth 1 | sed 's#^\\./##' | sort && cat f`; // the mount goes with the mount namespace
    const r = await inUserns(['/usr/bin/unshare', '-m', '/bin/sh', '-c', script], work);
    expect(r.code, r.output).toBe(0);
    const lines = r.output.split('\n').filter(Boolean);
    expect(lines.slice(0, -1)).toEqual(expected);
    expect(lines.at(-1)).toBe('again');
  });

  it('gives the same view from materializeRootfs (the copy fallback)', async () => {
    const dest = join(work, 'rootfs');
    await materializeRootfs(root, image, dest);
    expect(listTree(dest)).toEqual(expected);
    const r = await inUserns(['/bin/cat', join(dest, 'f'), join(dest, 'b/new'), join(dest, 'a/keep')], work);
    expect(r.output).toBe('againnewkeep');
  });
});
