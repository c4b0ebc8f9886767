// `nsbox cp` and the library's copyTo/copyFrom, with docker's rules: files and
// directories both ways (DIR/. for the contents), `-` as a tar stream, running
// and stopped containers, modes kept, files owned by the container's root
// inside and by the user on the host; every container path resolved inside
// the container's root, so an image's or a container's link never leads the
// copy to the host's files; bad input is one line and writes nothing.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupRoot, cliPath, tempRoot, testMode } from './helpers/env.js';
import { importImage } from './helpers/images.js';
import { tarBuffer } from './helpers/archives.js';
import { isOneLineRefusal } from './helpers/cli-process.js';
import { nsbox, removeAllPods } from './helpers/nsbox.js';
import { getContainer } from '../dist/index.js';

let root: string;
let host: string;
/** A host directory no copy may touch: its absolute path is what hostile links name. */
let canary: string;

beforeAll(() => {
  root = tempRoot();
  host = mkdtempSync(join(root, 'host-'));
  canary = mkdtempSync(join(root, 'canary-'));
  writeFileSync(join(canary, 'secret'), 'host secret\n');
  importImage(root, 'busybox');
  // An image whose /srv/out is a link to the canary's absolute path: followed inside the root, never out.
  importImage(root, 'links', [
    { path: 'srv/', type: 'dir', mode: 0o755 },
    { path: 'srv/out', type: 'symlink', linkpath: canary },
  ]);
  expect(cli('run', '-d', '--name', 'live', 'busybox', 'sleep', '600').code).toBe(0);
  expect(cli('run', '-d', '--name', 'hostile', 'links', 'sleep', '600').code).toBe(0);
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

function cli(...args: string[]) {
  return nsbox(root, args);
}
const inLive = (script: string) => cli('exec', '--join', 'live', 'live', '--', 'sh', '-c', script);

function hostTree(): string {
  const d = mkdtempSync(join(host, 'tree-'));
  mkdirSync(join(d, 'sub'));
  writeFileSync(join(d, 'a.txt'), 'alpha\n');
  chmodSync(join(d, 'a.txt'), 0o640);
  writeFileSync(join(d, 'sub', 'run.sh'), '#!/bin/sh\necho ran\n');
  chmodSync(join(d, 'sub', 'run.sh'), 0o755);
  symlinkSync('a.txt', join(d, 'link'));
  return d;
}

function canaryIntact(): void {
  expect(readdirSync(canary).sort()).toEqual(['secret']);
  expect(readFileSync(join(canary, 'secret'), 'utf8')).toBe('host secret\n');
}

describe(`cp (${testMode})`, () => {
  it('copies a host directory in: onto a missing path it becomes it, into an existing directory it keeps its name, DIR/. merges; modes kept, root\'s inside', () => {
    const d = hostTree();
    expect(cli('cp', d, 'live:/copied').code).toBe(0);
    expect(inLive('cat /copied/a.txt; stat -c "%a %u:%g" /copied/a.txt /copied/sub/run.sh; readlink /copied/link; /copied/sub/run.sh').stdout).toBe('alpha\n640 0:0\n755 0:0\na.txt\nran\n');
    expect(cli('cp', d, 'live:/tmp').code).toBe(0);
    const base = d.split('/').pop()!;
    expect(inLive(`cat /tmp/${base}/a.txt`).stdout).toBe('alpha\n');
    expect(inLive('mkdir -p /merged && echo kept > /merged/old').code).toBe(0);
    expect(cli('cp', `${d}/.`, 'live:/merged').code).toBe(0);
    expect(inLive('ls /merged | sort | tr "\\n" " "').stdout).toBe('a.txt link old sub ');
  });

  it('copies a file in: onto a new name, into a directory, over a file; a missing parent or a trailing / is refused', () => {
    const f = join(host, 'one.conf');
    writeFileSync(f, 'v1\n');
    expect(cli('cp', f, 'live:/etc/app.conf').code).toBe(0);
    expect(cli('cp', f, 'live:/srv').code).toBe(0);
    writeFileSync(f, 'v2\n');
    expect(cli('cp', f, 'live:/etc/app.conf').code).toBe(0);
    expect(inLive('cat /etc/app.conf /srv/one.conf').stdout).toBe('v2\nv1\n');
    for (const dst of ['live:/no/such/dir/file', 'live:/newdir/']) {
      const r = cli('cp', f, dst);
      expect(r.code, dst).toBe(125);
      expect(isOneLineRefusal(r)).toBe(true);
      expect(r.stderr).toMatch(/no such directory/);
    }
    expect(inLive('test -e /no || test -e /newdir || echo neither').stdout).toBe('neither\n');
  });

  it('copies out to the host: a file, a directory with its modes and links, owned by the user', () => {
    expect(inLive('mkdir -p /data/d && echo x > /data/d/f && chmod 600 /data/d/f && ln -s f /data/d/l && chown 4242:4242 /data/d/f').code).toBe(0);
    const out = join(host, 'out-dir');
    expect(cli('cp', 'live:/data/d', out).code).toBe(0);
    expect(readFileSync(join(out, 'f'), 'utf8')).toBe('x\n');
    expect(statSync(join(out, 'f')).mode & 0o777).toBe(0o600);
    expect(statSync(join(out, 'f')).uid).toBe(process.getuid!());
    expect(readlinkSync(join(out, 'l'))).toBe('f');
    const file = join(host, 'passwd-copy');
    expect(cli('cp', 'live:/etc/passwd', file).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toMatch(/^root:x:0:0:/);
    // Into an existing host directory it keeps its name.
    const into = mkdtempSync(join(host, 'into-'));
    expect(cli('cp', 'live:/etc/passwd', into).code).toBe(0);
    expect(existsSync(join(into, 'passwd'))).toBe(true);
  });

  it('- is a tar stream: out on stdout, in on stdin (into a directory)', () => {
    const out = spawnSync(process.execPath, [cliPath, '--root', root, 'cp', 'live:/etc/passwd', '-']);
    expect(out.status, out.stderr.toString()).toBe(0);
    const list = spawnSync('tar', ['-tvf', '-'], { input: out.stdout, encoding: 'utf8' });
    expect(list.stdout).toMatch(/ passwd\n$/);
    const tar = tarBuffer([{ path: 'streamed/', type: 'dir' }, { path: 'streamed/s.txt', content: 'from a stream\n', mode: 0o604 }]);
    const r = spawnSync(process.execPath, [cliPath, '--root', root, 'cp', '-', 'live:/tmp'], { input: tar, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(inLive('cat /tmp/streamed/s.txt; stat -c %a /tmp/streamed/s.txt').stdout).toBe('from a stream\n604\n');
  });

  it('copies into and out of a stopped container; a start sees what was copied', () => {
    expect(cli('run', '-d', '--name', 'resting', 'busybox', 'sleep', '600').code).toBe(0);
    expect(cli('stop', '-t', '0', 'resting').code).toBe(0);
    const f = join(host, 'for-stopped');
    writeFileSync(f, 'while stopped\n');
    const r = cli('cp', f, 'resting:/root/note');
    expect(r.code, r.stderr).toBe(0);
    const back = join(host, 'back-from-stopped');
    expect(cli('cp', 'resting:/root/note', back).code).toBe(0);
    expect(readFileSync(back, 'utf8')).toBe('while stopped\n');
    expect(cli('start', 'resting').code).toBe(0);
    expect(cli('exec', '--join', 'resting', 'resting', '--', 'cat', '/root/note').stdout).toBe('while stopped\n');
  });

  it('reads and writes files of other users of the container (0600 of uid 4242)', () => {
    expect(inLive('echo private > /tmp/p && chown 4242 /tmp/p && chmod 600 /tmp/p').code).toBe(0);
    const out = join(host, 'private');
    expect(cli('cp', 'live:/tmp/p', out).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('private\n');
    // -a keeps the archive's owners: a tar entry of uid 4242 stays 4242 inside.
    const tar = tarBuffer([{ path: 'owned', content: 'o\n', uid: 4242, gid: 4343 }]);
    const r = spawnSync(process.execPath, [cliPath, '--root', root, 'cp', '-a', '-', 'live:/tmp'], { input: tar, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(inLive('stat -c %u:%g /tmp/owned').stdout).toBe('4242:4343\n');
  });

  it("follows an image's absolute and climbing links inside the container's root, never to the host (the control: the same names resolve inside)", () => {
    // Into: /srv/out names the canary's path, which inside the container is a fresh directory path.
    const f = join(host, 'probe');
    writeFileSync(f, 'probe\n');
    const hostile = (script: string) => cli('exec', '--join', 'hostile', 'hostile', '--', 'sh', '-c', script);
    // The container makes one that climbs with .. (the importer refuses such links in images).
    expect(hostile(`mkdir -p ${canary} && ln -s ../../../../../../..${canary} /srv/up`).code).toBe(0);
    expect(cli('cp', f, 'hostile:/srv/out/planted').code).toBe(0);
    expect(cli('cp', f, 'hostile:/srv/up/planted-up').code).toBe(0);
    canaryIntact();
    // The positive control: both landed in the container, at the canary's path inside its root.
    expect(hostile(`ls ${canary} | sort | tr "\\n" " "`).stdout).toBe('planted planted-up ');
    // Out: the host's secret is never read through the links.
    const r = cli('cp', 'hostile:/srv/out/secret', join(host, 'stolen'));
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/no such file or directory/);
    expect(existsSync(join(host, 'stolen'))).toBe(false);
    expect(cli('cp', 'hostile:/srv/up/secret', join(host, 'stolen-up')).code).toBe(125);
    expect(existsSync(join(host, 'stolen-up'))).toBe(false);
    // A link the container itself makes at the destination is replaced, not followed.
    expect(hostile(`ln -s ${join(canary, 'secret')} /tmp/trap`).code).toBe(0);
    expect(cli('cp', f, 'hostile:/tmp/trap').code).toBe(0);
    canaryIntact();
    expect(hostile('cat /tmp/trap; test -L /tmp/trap || echo not-a-link').stdout).toBe('probe\nnot-a-link\n');
  });

  it('refuses a tar stream that climbs out with .., writing nothing outside', () => {
    const tar = tarBuffer([{ path: 'ok.txt', content: 'fine\n' }, { path: '../../escaped.txt', content: 'bad\n' }]);
    const r = spawnSync(process.execPath, [cliPath, '--root', root, 'cp', '-', 'live:/tmp/climb'], { input: tar, encoding: 'utf8' });
    expect(r.status).toBe(125);
    const r2 = spawnSync(process.execPath, [cliPath, '--root', root, 'cp', '-', 'live:/tmp'], { input: tar, encoding: 'utf8' });
    expect(r2.status).toBe(125);
    expect(r2.stderr).toMatch(/climbs out with \.\./);
    expect(inLive('test -e /escaped.txt || test -e /tmp/../escaped.txt || echo none').stdout).toBe('none\n');
  });

  it('bad input is one line with exit 125, leaving nothing', () => {
    const d = hostTree();
    writeFileSync(join(host, 'plain'), 'p\n');
    const before = inLive('ls /').stdout;
    for (const args of [
      ['cp', join(host, 'missing'), 'live:/x'],
      ['cp', 'live:/no/such', join(host, 'nothing')],
      ['cp', 'nosuchctr:/etc/passwd', join(host, 'nothing')],
      ['cp', d, 'live:/etc/passwd'],
      ['cp', join(host, 'plain'), join(host, 'plain2')],
      ['cp', 'live:/etc/passwd', 'hostile:/tmp'],
      ['cp', 'live:/etc', join(host, 'plain')],
    ]) {
      const r = cli(...args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(125);
      expect(isOneLineRefusal(r), `${args.join(' ')}: ${r.stderr}`).toBe(true);
    }
    expect(inLive('ls /').stdout).toBe(before);
    expect(existsSync(join(host, 'nothing'))).toBe(false);
    expect(existsSync(join(host, 'plain2'))).toBe(false);
    expect(lstatSync(join(host, 'plain')).isFile()).toBe(true);
  });

  it('the library: copyTo bytes and a host path, copyFrom to a host path and as tar', async () => {
    const c = getContainer('live', { root });
    c.pod.dataRoot = root;
    await c.copyTo(Buffer.from('[app]\nport=1\n'), '/etc/lib.conf');
    expect(inLive('cat /etc/lib.conf; stat -c %a /etc/lib.conf').stdout).toBe('[app]\nport=1\n644\n');
    const tar = await c.copyFrom('/etc/lib.conf');
    expect(tar!.subarray(0, 8).toString()).toBe('lib.conf');
    expect(tar!.includes(Buffer.from('port=1'))).toBe(true);
    const dest = join(host, 'lib-out');
    await c.copyFrom('/etc/lib.conf', dest);
    expect(readFileSync(dest, 'utf8')).toBe('[app]\nport=1\n');
    await expect(c.copyFrom('/etc/missing.conf', join(host, 'never'))).rejects.toThrow(/no such file or directory/);
  });
});
