// The image verbs of the CLI: import (id on stdout, summary on stderr), ls,
// inspect, rm; and bad input, each a one-line error with exit code 125.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageId, removeStoreTree, sha256, tarBuffer, writeDockerSave, writeTar } from './helpers/archives.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { nsbox } from './helpers/nsbox.js';

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

function expectOneLineError(r: { code: number; stdout: string; stderr: string }, pattern: RegExp): void {
  expect(r.code).toBe(125);
  expect(r.stdout).toBe('');
  expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  expect(r.stderr).toMatch(/^nsbox: /);
  expect(r.stderr).toMatch(pattern);
}

describe(`image CLI (${testMode})`, () => {
  const app = { layers: [{ entries: [{ path: 'etc/', type: 'dir' as const }, { path: 'etc/app.conf', content: 'x=1\n' }] }], config: { Cmd: ['/bin/app'], ExposedPorts: { '80/tcp': {} } }, repoTags: ['web/app:2.1'] };
  let rootfsId = '';

  it('imports: the id on stdout, a one-line summary on stderr', () => {
    const file = writeTar(join(work, 'rootfs.tar'), [{ path: 'bin/', type: 'dir' }, { path: 'bin/hello', content: 'hello', mode: 0o755 }]);
    const r = nsbox(root, ['image', 'import', file, '--name', 'hello:1']);
    expect(r.code, r.stderr).toBe(0);
    rootfsId = r.stdout.trim();
    expect(rootfsId).toMatch(/^[0-9a-f]{64}$/);
    expect(r.stderr).toMatch(/^imported hello:1 \(sha256:[0-9a-f]{12}…, 1 layer, \d+(\.\d+)? kB, \d+\.\d s\)\n$/);

    const d = nsbox(root, ['image', 'import', writeDockerSave(join(work, 'app.tar'), [app])]);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout.trim()).toBe(imageId(app));
    expect(d.stderr).toMatch(/^imported web\/app:2\.1 /);
  });

  it('lists images like podman, as JSON, and ids only', () => {
    const r = nsbox(root, ['image', 'ls']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(lines.slice(1).map((l) => l.split(/\s{2,}/).slice(0, 3))).toEqual(
      expect.arrayContaining([
        ['hello', '1', rootfsId.slice(0, 12)],
        ['web/app', '2.1', imageId(app).slice(0, 12)],
      ]),
    );
    const json = JSON.parse(nsbox(root, ['image', 'ls', '--format', 'json']).stdout);
    expect(json.map((i: { id: string }) => i.id).sort()).toEqual([rootfsId, imageId(app)].sort());
    expect(nsbox(root, ['image', 'ls', '-q']).stdout.trim().split('\n').sort()).toEqual([rootfsId.slice(0, 12), imageId(app).slice(0, 12)].sort());
  });

  it('inspects images as JSON, by name, id and id prefix', () => {
    const one = JSON.parse(nsbox(root, ['image', 'inspect', 'web/app:2.1']).stdout);
    expect(one).toMatchObject({ id: imageId(app), names: ['web/app:2.1'], config: { cmd: ['/bin/app'], exposedPorts: ['80/tcp'] }, source: 'docker-save' });
    expect(one.layerDirs).toEqual([join(root, 'images', 'layers', sha256(tarBuffer(app.layers[0]!.entries)), 'diff')]);
    const two = JSON.parse(nsbox(root, ['image', 'inspect', 'hello:1', rootfsId.slice(0, 10)]).stdout);
    expect(two.map((i: { id: string }) => i.id)).toEqual([rootfsId, rootfsId]);
  });

  it('removes names, then images and their layers', () => {
    expect(nsbox(root, ['image', 'import', join(work, 'rootfs.tar'), '--name', 'hello:2']).code).toBe(0);
    const ambiguous = nsbox(root, ['image', 'rm', rootfsId]);
    expectOneLineError(ambiguous, /image [0-9a-f]{12} has several names \(hello:1, hello:2\): remove them one by one by name, or use -f/);
    const untag = nsbox(root, ['image', 'rm', 'hello:1']);
    expect(untag).toMatchObject({ code: 0, stdout: 'Untagged: hello:1\n' });
    const rm = nsbox(root, ['image', 'rm', 'hello:2', 'web/app:2.1']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout).toBe(`Untagged: hello:2\nDeleted: ${rootfsId}\nUntagged: web/app:2.1\nDeleted: ${imageId(app)}\n`);
    expect(readdirSync(join(root, 'images', 'layers'))).toEqual([]);
    expect(readdirSync(join(root, 'images', 'tmp'))).toEqual([]);
    expect(nsbox(root, ['image', 'ls', '-q']).stdout).toBe('');
    expect(JSON.parse(readFileSync(join(root, 'images', 'names.json'), 'utf8'))).toEqual({});
  });

  it('rejects bad input with one line and exit code 125', () => {
    expectOneLineError(nsbox(root, ['image', 'import', join(work, 'missing.tar')]), /cannot read .*missing\.tar: no such file or directory: give a \.tar or \.tar\.gz rootfs/);
    writeFileSync(join(work, 'notes.txt'), 'just some text, not an archive\n'.repeat(40));
    expectOneLineError(nsbox(root, ['image', 'import', join(work, 'notes.txt')]), /notes\.txt is not an archive \(neither tar nor gzip\)/);
    const gz = gzipSync(tarBuffer([{ path: 'big', content: Buffer.alloc(256 * 1024, 'a').toString() + sha256('x').repeat(4000) }]));
    writeFileSync(join(work, 'corrupt.tar.gz'), Buffer.concat([gz.subarray(0, 200), Buffer.alloc(200, 0x55), gz.subarray(400)]));
    expectOneLineError(nsbox(root, ['image', 'import', join(work, 'corrupt.tar.gz')]), /corrupt gzip data/);
    writeFileSync(join(work, 'truncated.tar.gz'), gz.subarray(0, gz.length - 100));
    expectOneLineError(nsbox(root, ['image', 'import', join(work, 'truncated.tar.gz')]), /corrupt gzip data \(unexpected end of file\)/);
    writeFileSync(join(work, 'x.tar.zst'), Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]));
    expectOneLineError(nsbox(root, ['image', 'import', join(work, 'x.tar.zst')]), /is zstd-compressed: Node 20 has no zstd decoder: decompress it first \(zstd -d FILE\)/);
    writeFileSync(join(work, 'garbage.tar.gz'), gzipSync(Buffer.alloc(4096, 'z')));
    expectOneLineError(nsbox(root, ['image', 'import', join(work, 'garbage.tar.gz')]), /gzip data is not a tar archive/);
    expectOneLineError(nsbox(root, ['image', 'import', join(work, 'rootfs.tar'), '--name', 'Bad:Name!']), /invalid image name "Bad:Name!"/);
    expectOneLineError(nsbox(root, ['image', 'inspect', 'nope']), /no image "nope": list images with `nsbox image ls`/);
    expectOneLineError(nsbox(root, ['image', 'rm', 'nope:1']), /no image "nope:1"/);
    expect(readdirSync(join(root, 'images', 'tmp'))).toEqual([]);
    expect(readdirSync(join(root, 'images', 'layers'))).toEqual([]);
  });
});
