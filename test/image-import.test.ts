// Importing images: plain rootfs tarballs (.tar, .tar.gz), docker save
// archives and OCI layouts (directory and tar) built here from layers the
// test makes; owners as containers see them; configs; shared layers.
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findImage, importImage, importImages, inspectImage, layerDirs, listImages, NsboxError, removeImage, type ImportProgress } from '../dist/index.js';
import { imageId, inUserns, removeStoreTree, sha256, tarBuffer, writeDockerSave, writeOciDir, writeOciTar, writeTar, writeTgz, type TarEntry } from './helpers/archives.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';

let root: string;
let work: string;
beforeAll(() => {
  root = tempRoot();
  work = join(root, 'work');
  mkdirSync(work);
});
afterAll(async () => {
  await removeStoreTree(join(root, 'images'));
  cleanupRoot(root);
});

const rootfs: TarEntry[] = [
  { path: './', type: 'dir' },
  { path: './etc/', type: 'dir' },
  { path: './etc/hostname', content: 'img\n' },
  { path: './var/www/', type: 'dir', uid: 33, gid: 33, mode: 0o750 },
  { path: './var/www/index.html', content: '<h1>hi</h1>\n', uid: 33, gid: 33, mode: 0o640 },
  { path: './usr/bin/tool', content: '#!/bin/sh\n', mode: 0o4755 },
  { path: './bin', type: 'symlink', linkpath: 'usr/bin' },
  { path: './usr/bin/tool-link', type: 'link', linkpath: './usr/bin/tool' },
  { path: './dev/null', type: 'char' },
];

function layerEntries(root: string): string[] {
  return readdirSync(join(root, 'images', 'layers')).sort();
}

/** Store scratch space is always left empty. */
function expectNoScratch(): void {
  expect(readdirSync(join(root, 'images', 'tmp'))).toEqual([]);
}

describe(`image import (${testMode})`, () => {
  it('imports a plain .tar rootfs: content-addressed layer, default config, owners as containers see them', async () => {
    const file = writeTar(join(work, 'rootfs.tar'), rootfs);
    const progress: ImportProgress[] = [];
    const img = await importImage(file, { root, name: 'plain', onProgress: (p) => progress.push(p) });
    const diffId = `sha256:${sha256(readFileSync(file))}`;
    expect(img.layers).toEqual([diffId]);
    expect(img.names).toEqual(['plain:latest']);
    expect(img.config).toEqual({ cmd: ['/bin/sh'] });
    expect(img.source).toBe('rootfs');
    expect(progress.filter((p) => p.phase === 'extracting').at(-1)).toMatchObject({ layer: 1, layers: 1, bytes: statSync(file).size, total: statSync(file).size, entries: rootfs.length });
    expect(progress.at(-1)).toMatchObject({ phase: 'done', message: expect.stringMatching(/^imported plain:latest \(sha256:[0-9a-f]{12}…, 1 layer, .*, 1 device node skipped\)$/) });
    expectNoScratch();

    const [dir] = layerDirs(root, img);
    expect(dir).toBe(join(root, 'images', 'layers', diffId.slice(7), 'diff'));
    expect(readFileSync(join(dir!, 'etc/hostname'), 'utf8')).toBe('img\n');
    expect(lstatSync(join(dir!, 'bin')).isSymbolicLink()).toBe(true);
    expect(statSync(join(dir!, 'usr/bin/tool-link')).ino).toBe(statSync(join(dir!, 'usr/bin/tool')).ino);
    expect(statSync(join(dir!, 'usr/bin/tool')).mode & 0o7777).toBe(0o4755);
    expect(existsSync(join(dir!, 'dev/null'))).toBe(false); // devices are skipped

    // Owners as containers see them: inside the user namespace, uid 33 is 33.
    const r = await inUserns(['/usr/bin/stat', '-c', '%u:%g %a %n', join(dir!, 'var/www'), join(dir!, 'var/www/index.html'), join(dir!, 'etc/hostname')], work);
    expect(r.code).toBe(0);
    expect(r.output.split('\n').filter(Boolean).map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(['33:33 750', '33:33 640', '0:0 644']);
  });

  it('an unchanged rootfs tarball imported again is not extracted again', async () => {
    const file = join(work, 'rootfs.tar');
    const r = await importImages(file, { root, name: 'plain:again' });
    expect([r.layersExtracted, r.layersReused]).toEqual([0, 1]);
    expect(r.images[0]!.id).toBe(findImage(root, 'plain').id);
    // The control: a changed tarball is extracted.
    const changed = writeTar(join(work, 'rootfs-changed.tar'), [...rootfs, { path: './etc/changed', content: 'y\n' }]);
    expect((await importImages(changed, { root, name: 'plain:changed' })).layersExtracted).toBe(1);
    expectNoScratch();
    await removeImage('plain:again', { root });
    await removeImage('plain:changed', { root });
  });

  it('imports the same tarball gzipped to the same image and layer; the id is stable', async () => {
    const tgz = writeTgz(join(work, 'rootfs.tgz'), rootfs);
    const before = layerEntries(root);
    const a = findImage(root, 'plain');
    const b = await importImage(tgz, { root, name: 'plain:gz' });
    expect(b.id).toBe(a.id);
    expect(b.names).toEqual(['plain:latest', 'plain:gz']);
    expect(layerEntries(root)).toEqual(before);
    expect(findImage(root, 'plain:gz').id).toBe(a.id);
    expect(findImage(root, a.id.slice(0, 8)).id).toBe(a.id);
    expect(findImage(root, `sha256:${a.id}`).id).toBe(a.id);
    expectNoScratch();
  });

  it('imports a docker save archive: RepoTags, config, gzipped and empty layers', async () => {
    const base = { entries: [{ path: 'etc/', type: 'dir' as const }, { path: 'etc/os-release', content: 'ID=test\n' }, { path: 'app/', type: 'dir' as const }] };
    const app = { entries: [{ path: 'app/run.sh', content: 'echo run\n', mode: 0o755, uid: 1000, gid: 1000 }], gzip: true };
    const empty = { entries: [] };
    const config = {
      Entrypoint: ['/app/run.sh'],
      Cmd: ['--serve'],
      Env: ['PATH=/usr/bin:/bin', 'MODE=prod'],
      WorkingDir: '/app',
      User: '1000:1000',
      ExposedPorts: { '8080/tcp': {} },
    };
    const file = writeDockerSave(join(work, 'docker.tar'), [{ layers: [base, app, empty], config, repoTags: ['example.com/team/app:1.0'] }]);
    const img = await importImage(file, { root });
    expect(img.id).toBe(imageId({ layers: [base, app, empty], config }));
    expect(img.names).toEqual(['example.com/team/app:1.0']);
    expect(img.source).toBe('docker-save');
    expect(img.config).toEqual({ entrypoint: ['/app/run.sh'], cmd: ['--serve'], env: ['PATH=/usr/bin:/bin', 'MODE=prod'], workingDir: '/app', user: '1000:1000', exposedPorts: ['8080/tcp'] });
    expect(img.layers).toEqual([base, app, empty].map((l) => `sha256:${sha256(tarBuffer(l.entries))}`));
    const dirs = layerDirs(root, img);
    expect(readFileSync(join(dirs[1]!, 'app/run.sh'), 'utf8')).toBe('echo run\n');
    expect(readdirSync(dirs[2]!)).toEqual([]);
    const r = await inUserns(['/usr/bin/stat', '-c', '%u', join(dirs[1]!, 'app/run.sh')], work);
    expect(r.output.trim()).toBe('1000');
    expect(inspectImage('example.com/team/app:1.0', { root }).layerDirs).toEqual(dirs);
    expectNoScratch();

    // `docker save | gzip` gives the same image; its layers are already stored.
    writeFileSync(join(work, 'docker.tar.gz'), gzipSync(readFileSync(file)));
    const again = await importImages(join(work, 'docker.tar.gz'), { root });
    expect(again.images.map((i) => i.id)).toEqual([img.id]);
    expect(again.layersExtracted).toBe(0);
    expectNoScratch();
  });

  it('imports an OCI layout, as a directory and as a tar, to the same image; layers are shared', async () => {
    const l1 = { entries: [{ path: 'srv/', type: 'dir' as const }, { path: 'srv/data.txt', content: 'oci data\n' }], gzip: true };
    const l2 = { entries: [{ path: 'srv/more.txt', content: 'more\n' }] };
    const spec = { layers: [l1, l2], config: { Cmd: ['cat', '/srv/data.txt'], Env: ['A=1'] } };
    const dir = writeOciDir(join(work, 'oci-dir'), spec);
    const a = await importImage(dir, { root, name: 'oci:dir' });
    expect(a.source).toBe('oci');
    expect(a.id).toBe(imageId(spec));
    expect(a.config).toEqual({ cmd: ['cat', '/srv/data.txt'], env: ['A=1'] });
    expect(readFileSync(join(layerDirs(root, a)[0]!, 'srv/data.txt'), 'utf8')).toBe('oci data\n');

    const layersBefore = layerEntries(root);
    const tar = writeOciTar(join(work, 'oci.tar'), spec);
    const result = await importImages(tar, { root, name: 'oci:tar' });
    expect(result.images.map((i) => i.id)).toEqual([a.id]);
    expect(result.layersExtracted).toBe(0);
    expect(result.layersReused).toBe(2);
    expect(result.summary).toMatch(/^imported oci:tar \(sha256:[0-9a-f]{12}…, 2 layers \(2 already stored\), \d+(\.\d+)? kB, \d+\.\d s\)$/);
    expect(layerEntries(root)).toEqual(layersBefore);
    expect(findImage(root, 'oci:tar').names).toEqual(['oci:dir', 'oci:tar']);
    expectNoScratch();
  });

  it('stores a layer shared by two images once, and removes it only with the last image', async () => {
    const shared = { entries: [{ path: 'shared.txt', content: 'shared layer\n' }] };
    const one = { layers: [shared, { entries: [{ path: 'one.txt', content: '1' }] }], repoTags: ['share:one'] };
    const two = { layers: [shared, { entries: [{ path: 'two.txt', content: '2' }] }], repoTags: ['share:two'] };
    const sharedHex = sha256(tarBuffer(shared.entries));
    const before = layerEntries(root);
    await importImage(writeDockerSave(join(work, 'one.tar'), [one]), { root });
    const r = await importImages(writeDockerSave(join(work, 'two.tar'), [two]), { root });
    expect(r.layersExtracted).toBe(1);
    expect(r.layersReused).toBe(1);
    const added = layerEntries(root).filter((l) => !before.includes(l));
    expect(added).toHaveLength(3);
    expect(added).toContain(sharedHex);

    const inUse = await removeImage('share:one', { root, usedBy: ['web', 'db'] }).catch((e: NsboxError) => e.oneLine());
    expect(inUse).toBe('image share:one is used by containers web, db: remove them first (nsbox rm)');
    const gone = await removeImage('share:one', { root });
    expect(gone.deleted).toBe(imageId(one));
    expect(gone.layersRemoved).toBe(1);
    expect(layerEntries(root)).toContain(sharedHex);
    await removeImage('share:two', { root });
    expect(layerEntries(root).filter((l) => !before.includes(l))).toEqual([]);
    expect(listImages({ root }).map((i) => i.names).flat()).not.toContain('share:two');
    expectNoScratch();
  });

  it('runs concurrent imports that share a layer: each succeeds, the layer is stored once', async () => {
    const shared = { entries: [{ path: 'big.bin', content: Buffer.alloc(4 << 20, 7) }] };
    const specs = [1, 2, 3].map((i) => ({ layers: [shared, { entries: [{ path: `own${i}`, content: String(i) }] }], repoTags: [`conc:${i}`] }));
    const files = specs.map((spec, i) => writeDockerSave(join(work, `conc${i}.tar`), [spec]));
    const before = layerEntries(root);
    const results = await Promise.all(files.map((f) => importImage(f, { root })));
    expect(results.map((r) => r.id)).toEqual(specs.map(imageId));
    expect(layerEntries(root).filter((l) => !before.includes(l))).toHaveLength(4);
    expectNoScratch();
    for (const r of results) await removeImage(r.id, { root });
    expect(layerEntries(root)).toEqual(before);
  });

  it('imports every image of a multi-image docker save archive, and moves a name to the newest image', async () => {
    const a = { layers: [{ entries: [{ path: 'a', content: 'a' }] }], repoTags: ['multi:a', 'moving:latest'] };
    const b = { layers: [{ entries: [{ path: 'b', content: 'b' }] }], repoTags: ['multi:b'] };
    const r = await importImages(writeDockerSave(join(work, 'multi.tar'), [a, b]), { root });
    expect(r.images.map((i) => i.names)).toEqual([['multi:a', 'moving:latest'], ['multi:b']]);
    await expect(importImages(join(work, 'multi.tar'), { root, name: 'x' })).rejects.toThrow(/holds 2 images, and --name can name only one/);
    await importImage(writeTar(join(work, 'c.tar'), [{ path: 'c', content: 'c' }]), { root, name: 'moving' });
    expect(findImage(root, 'multi:a').names).toEqual(['multi:a']);
    expect(findImage(root, 'moving').layers).toHaveLength(1);
    expect(findImage(root, 'moving').id).not.toBe(imageId(a));
  });

  it('runs a host busybox from an imported rootfs (chroot in the user namespace)', async () => {
    const bb = join(work, 'busybox');
    copyFileSync('/bin/busybox', bb);
    const file = writeTar(join(work, 'bb.tar'), [
      { path: 'bin/', type: 'dir' },
      { path: 'bin/busybox', content: readFileSync(bb), mode: 0o755 },
      { path: 'bin/sh', type: 'symlink', linkpath: 'busybox' },
    ]);
    const img = await importImage(file, { root, name: 'bb' });
    const [dir] = layerDirs(root, img);
    const r = await inUserns(['/usr/sbin/chroot', dir!, '/bin/sh', '-c', 'echo hi from $(/bin/busybox id -u)'], work);
    expect(r).toEqual({ code: 0, output: 'hi from 0\n' });
  });
});
