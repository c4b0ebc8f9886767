// Named volumes, as podman's: `nsbox volume create|ls|inspect|exists|rm|prune`,
// `-v NAME:/path` (made on first use) and docker's `--mount`. A volume
// outlives its containers and is shared by several; on first use its owner
// and mode are fitted to the container (the image's directory there, else
// the container's user), so a non-root container user can write it,
// rootless too; in use, it is kept; bad specs are one line and leave nothing.
import { readFileSync, statSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { imageEntries, importImage } from './helpers/images.js';
import { writeDockerSave } from './helpers/archives.js';
import { isOneLineRefusal } from './helpers/cli-process.js';
import { nsbox, removeAllPods } from './helpers/nsbox.js';

const POD = 'volpod';
let root: string;

beforeAll(() => {
  root = tempRoot();
  importImage(root, 'busybox');
  // An image whose /var/lib/pg belongs to uid 70 with mode 0700, as a database image's data directory does.
  importImage(root, 'pgish', [{ path: 'var/lib/pg/', type: 'dir', uid: 70, gid: 71, mode: 0o700 }]);
  // Two layers, as a real image has: the site's directory in the first, more files (and a link) in the second.
  const site = writeDockerSave(join(root, 'site.tar'), [{
    layers: [
      { entries: imageEntries([{ path: 'srv/site/', type: 'dir', uid: 101, gid: 101, mode: 0o750 }, { path: 'srv/site/index.html', content: '<h1>from the image</h1>\n', uid: 101, gid: 101, mode: 0o640 }]) },
      { entries: [{ path: 'srv/', type: 'dir', mode: 0o755 }, { path: 'srv/site/', type: 'dir', uid: 101, gid: 101, mode: 0o750 }, { path: 'srv/site/css/', type: 'dir', mode: 0o755 }, { path: 'srv/site/css/a.css', content: 'b{}\n' }, { path: 'srv/site/home', type: 'symlink', linkpath: 'index.html' }] },
    ],
    config: { Cmd: ['sh'] },
    repoTags: ['site:1'],
  }]);
  expect(nsbox(root, ['image', 'import', site]).code).toBe(0);
  expect(nsbox(root, ['pod', 'create', '--name', POD]).code).toBe(0);
});
afterAll(() => {
  removeAllPods(root);
  // Volumes hold files of subordinate ids, which only nsbox (as their owner) removes.
  const left = nsbox(root, ['volume', 'ls', '-q']).stdout.split('\n').filter(Boolean);
  if (left.length) expect(nsbox(root, ['volume', 'rm', '-f', ...left]).code).toBe(0);
  // And the site image: its 0750 directory of uid 101 is removed as its owner, by nsbox.
  expect(nsbox(root, ['image', 'rm', 'site:1']).code).toBe(0);
  cleanupRoot(root);
});

const cli = (...args: string[]) => nsbox(root, args);
const run = (...args: string[]) => cli('run', '--pod', POD, ...args);
const dataDir = (name: string) => join(root, 'volumes', name, '_data');

/** The host uid that uid `id` of the pod is: rootless, inside the user's /etc/subuid range. */
function hostUid(id: number): number {
  if (testMode === 'root' || id === 0) return id === 0 ? process.getuid!() : id;
  const me = userInfo();
  const line = readFileSync('/etc/subuid', 'utf8').split('\n').find((l) => l.startsWith(`${me.username}:`) || l.startsWith(`${me.uid}:`));
  if (!line) throw new Error(`no /etc/subuid range for ${me.username}`);
  return Number(line.split(':')[1]) + id - 1;
}

describe(`named volumes (${testMode})`, () => {
  it('volume create / ls / inspect / exists, in podman\'s shapes', () => {
    const c = cli('volume', 'create', '--label', 'app=db', 'made');
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toBe('made\n');
    expect(cli('volume', 'ls').stdout).toMatch(/^DRIVER\s+VOLUME NAME\nlocal\s+made\s*$/m);
    const [v] = JSON.parse(cli('volume', 'ls', '--format', 'json').stdout);
    expect(v).toMatchObject({ Name: 'made', Driver: 'local', Scope: 'local', Labels: { app: 'db' }, Mountpoint: dataDir('made'), MountCount: 0 });
    expect(statSync(v.Mountpoint).isDirectory()).toBe(true);
    expect(cli('volume', 'inspect', '--format', '{{.Mountpoint}}', 'made').stdout).toBe(`${dataDir('made')}\n`);
    expect(cli('volume', 'ls', '-q', '--filter', 'label=app=db').stdout).toBe('made\n');
    expect(cli('volume', 'ls', '-q', '--filter', 'label=app=web').stdout).toBe('');
    expect(cli('volume', 'exists', 'made').code).toBe(0);
    expect(cli('volume', 'exists', 'never-made').code).toBe(1);
    const again = cli('volume', 'create', 'made');
    expect(again.code).toBe(125);
    expect(again.stderr).toMatch(/volume made already exists/);
    expect(cli('volume', 'create', '--ignore', 'made').code).toBe(0);
  });

  it('-v NAME:/path makes the volume; two containers of different pods share it, and it outlives both', () => {
    const w = run('--name', 'writer', '-v', 'shared:/data', 'busybox', 'sh', '-c', 'echo written-once > /data/note');
    expect(w.code, w.stderr).toBe(0);
    expect(cli('volume', 'exists', 'shared').code).toBe(0);
    // A container in a pod of its own reads what the first one wrote.
    const r = cli('run', '--name', 'reader', '-v', 'shared:/mnt/in', 'busybox', 'cat', '/mnt/in/note');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('written-once\n');
    const [mount] = JSON.parse(cli('inspect', `${POD}/writer`).stdout)[0].Mounts;
    expect(mount).toMatchObject({ Type: 'volume', Name: 'shared', Source: dataDir('shared'), Destination: '/data', RW: true });
    expect(cli('rm', `${POD}/writer`, 'reader').code).toBe(0);
    expect(readFileSync(join(dataDir('shared'), 'note'), 'utf8')).toBe('written-once\n');
    const later = run('--rm', '-v', 'shared:/data', 'busybox', 'cat', '/data/note');
    expect(later.stdout).toBe('written-once\n');
  });

  it('a non-root user writes a fresh volume: on first use it is given to that user (a host directory, the control, is not)', () => {
    const host = mkdtempSync(join(root, 'hostdir-'));
    const control = run('--name', 'u999-bind', '--user', '999:999', '-v', `${host}:/data`, 'busybox', 'touch', '/data/x');
    expect(control.code).not.toBe(0);
    expect(control.stderr).toMatch(/Permission denied/);
    const r = run('--name', 'u999', '--user', '999:998', '-v', 'pgdata:/data', 'busybox', 'sh', '-c', 'touch /data/x && stat -c %u:%g /data /data/x');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('999:998\n999:998\n');
    // On the host the files belong to the id that the pod's 999 is.
    expect(statSync(join(dataDir('pgdata'), 'x')).uid).toBe(hostUid(999));
    // Only on first use: a container of another user leaves the owner as it is.
    const other = run('--name', 'u1000', '--user', '1000', '-v', 'pgdata:/data', 'busybox', 'stat', '-c', '%u', '/data');
    expect(other.stdout).toBe('999\n');
  });

  it("takes the owner and mode of the image's own directory at the mount point", () => {
    const r = run('--name', 'pg', '-v', 'pgimage:/var/lib/pg', 'pgish', 'stat', '-c', '%u:%g:%a', '/var/lib/pg');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('70:71:700\n');
    // The control: the same image at a path it does not have gives root's 0755.
    const c = run('--name', 'pg-elsewhere', '-v', 'pgother:/var/lib/other', 'pgish', 'stat', '-c', '%u:%g:%a', '/var/lib/other');
    expect(c.stdout).toBe('0:0:755\n');
  });

  it("a fresh volume is filled from the image's directory there (owners, modes, links, every layer); nocopy keeps it empty; a volume with files is left as it is", () => {
    const r = run('--name', 'site', '-v', 'sitevol:/srv/site', 'site:1', 'sh', '-c', 'cat /srv/site/index.html; stat -c "%u:%g %a" /srv/site /srv/site/index.html; readlink /srv/site/home; cat /srv/site/css/a.css; rm /srv/site/index.html');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('<h1>from the image</h1>\n101:101 750\n101:101 640\nindex.html\nb{}\n');
    // Not filled again: the volume keeps what containers made of it.
    expect(run('--name', 'site-again', '-v', 'sitevol:/srv/site', 'site:1', 'ls', '/srv/site').stdout.split('\n').filter(Boolean).sort()).toEqual(['css', 'home']);
    // The control: nocopy starts it empty.
    expect(run('--name', 'site-empty', '-v', 'emptyvol:/srv/site:nocopy', 'site:1', 'ls', '-A', '/srv/site').stdout).toBe('');
    expect(JSON.parse(cli('volume', 'inspect', 'sitevol').stdout)[0]).toMatchObject({ NeedsCopyUp: false, NeedsChown: false });
  });

  it('--mount in docker\'s syntax: a read-only volume refuses writes, a bind and a tmpfs work', () => {
    const host = mkdtempSync(join(root, 'bind-'));
    writeFileSync(join(host, 'in'), 'bound\n');
    const r = run('--name', 'mounts', '--mount', 'type=volume,src=mvol,dst=/v', '--mount', `type=bind,source=${host},target=/b,readonly`, '--mount', 'type=tmpfs,destination=/t,tmpfs-size=1048576',
      'busybox', 'sh', '-c', 'echo v > /v/f && cat /b/in && ! touch /b/new 2>/dev/null && grep " /t " /proc/mounts | cut -d" " -f3');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('bound\ntmpfs\n');
    const ro = run('--name', 'mounts-ro', '--mount', 'type=volume,source=mvol,target=/v,readonly', 'busybox', 'sh', '-c', 'cat /v/f; echo x > /v/f');
    expect(ro.stdout).toBe('v\n');
    expect(ro.code).not.toBe(0);
    expect(ro.stderr).toMatch(/Read-only file system/);
    expect(readFileSync(join(dataDir('mvol'), 'f'), 'utf8')).toBe('v\n');
  });

  it('a volume in use is kept, naming its user; once the container is gone it is removed (the control), and -f removes the user too', () => {
    expect(run('--name', 'holder', '-v', 'held:/data', 'busybox', 'true').code).toBe(0);
    const refused = cli('volume', 'rm', 'held');
    expect(refused.code).toBe(125);
    expect(isOneLineRefusal(refused)).toBe(true);
    expect(refused.stderr).toMatch(/volume held is in use by volpod\/holder/);
    expect(existsSync(dataDir('held'))).toBe(true);
    expect(cli('rm', `${POD}/holder`).code).toBe(0);
    expect(cli('volume', 'rm', 'held').code).toBe(0);
    expect(existsSync(join(root, 'volumes', 'held'))).toBe(false);

    expect(run('--name', 'holder2', '-v', 'held2:/data', 'busybox', 'true').code).toBe(0);
    const forced = cli('volume', 'rm', '-f', 'held2');
    expect(forced.code, forced.stderr).toBe(0);
    expect(cli('ps', '-a', '--format', 'json').stdout).not.toMatch(/holder2/);
    expect(existsSync(join(root, 'volumes', 'held2'))).toBe(false);
  });

  it('removes a volume whose files belong to a subordinate id; a missing one is exit 1', () => {
    expect(run('--name', 'sub', '--user', '4242', '-v', 'subfiles:/data', 'busybox', 'sh', '-c', 'mkdir -p /data/a/b && echo x > /data/a/b/f && chmod 700 /data/a').code).toBe(0);
    expect(cli('rm', `${POD}/sub`).code).toBe(0);
    const r = cli('volume', 'rm', 'subfiles');
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(root, 'volumes', 'subfiles'))).toBe(false);
    const missing = cli('volume', 'rm', 'subfiles');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no such volume: subfiles/);
  });

  it('prune removes the volumes no container uses and keeps the used ones', () => {
    expect(cli('volume', 'create', 'idle').code).toBe(0);
    expect(run('--name', 'busy', '-v', 'inuse:/data', 'busybox', 'true').code).toBe(0);
    const p = cli('volume', 'prune', '-f');
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout.split('\n')).toContain('idle');
    expect(p.stdout.split('\n')).not.toContain('inuse');
    expect(cli('volume', 'exists', 'idle').code).toBe(1);
    expect(cli('volume', 'exists', 'inuse').code).toBe(0);
  });

  it('-v /path is an anonymous volume: --rm (attached and detached) and rm -v remove it, plain rm keeps it, a named one is never removed with its container', async () => {
    const volumes = () => cli('volume', 'ls', '-q').stdout.split('\n').filter(Boolean).sort();
    const before = volumes();
    const fresh = () => volumes().filter((v) => !before.includes(v));
    expect(cli('run', '-d', '--pod', POD, '--name', 'anon1', '-v', '/data', 'busybox', 'sh', '-c', 'echo kept > /data/f; sleep 1000').code).toBe(0);
    const made = fresh();
    expect(made).toHaveLength(1);
    expect(made[0]).toMatch(/^[0-9a-f]{64}$/);
    const mount = JSON.parse(cli('inspect', `${POD}/anon1`).stdout)[0].Mounts.find((m: { Destination: string }) => m.Destination === '/data');
    expect(mount.Name).toBe(made[0]);
    // Plain rm keeps it (docker's dangling volume), with what was written.
    expect(cli('rm', '-f', `${POD}/anon1`).code).toBe(0);
    expect(fresh()).toEqual(made);
    expect(readFileSync(join(JSON.parse(cli('volume', 'inspect', made[0]!).stdout)[0].Mountpoint, 'f'), 'utf8')).toBe('kept\n');
    expect(cli('volume', 'rm', made[0]!).code).toBe(0);
    // rm -v removes it; the named volume beside it stays.
    expect(cli('run', '-d', '--pod', POD, '--name', 'anon2', '-v', '/data', '-v', 'keepme:/keep', 'busybox', 'sleep', '1000').code).toBe(0);
    expect(fresh()).toHaveLength(2);
    expect(cli('rm', '-f', '-v', `${POD}/anon2`).code).toBe(0);
    expect(fresh()).toEqual(['keepme']);
    // --rm, attached and detached (the keeper's removal), and --mount without a source.
    const attached = cli('run', '--rm', '--pod', POD, '-v', '/data', 'busybox', 'sh', '-c', 'echo x > /data/f && cat /data/f');
    expect(attached.stdout).toBe('x\n');
    expect(cli('run', '-d', '--rm', '--pod', POD, '--name', 'anon3', '--mount', 'type=volume,dst=/data', 'busybox', 'true').code).toBe(0);
    for (let i = 0; i < 100 && cli('exists', `${POD}/anon3`).code === 0; i++) await new Promise((ok) => setTimeout(ok, 50));
    expect(cli('exists', `${POD}/anon3`).code).toBe(1);
    for (let i = 0; i < 40 && fresh().length > 1; i++) await new Promise((ok) => setTimeout(ok, 50));
    expect(fresh()).toEqual(['keepme']);
    expect(cli('volume', 'rm', 'keepme').code).toBe(0);
  });

  it('refuses bad names and specs in one line, leaving no container and no volume', () => {
    const before = cli('ps', '-a', '-q').stdout;
    const volumesBefore = cli('volume', 'ls', '-q').stdout;
    for (const args of [
      ['volume', 'create', 'bad/name'],
      ['volume', 'create', '.hidden'],
      ['run', '--pod', POD, '-v', '/', 'busybox', 'true'],
      ['run', '--pod', POD, '-v', 'vol:relative', 'busybox', 'true'],
      ['run', '--pod', POD, '-v', 'vol:/x:ro,rw', 'busybox', 'true'],
      ['run', '--pod', POD, '--mount', 'type=volume,src=v1,dst=/x,bogus=1', 'busybox', 'true'],
      ['run', '--pod', POD, '--mount', 'type=volume,src=v1', 'busybox', 'true'],
      ['run', '--pod', POD, '--mount', 'type=npipe,src=v1,dst=/x', 'busybox', 'true'],
      ['run', '--pod', POD, '--mount', 'type=tmpfs,src=v1,dst=/x', 'busybox', 'true'],
      ['run', '--pod', POD, '--mount', 'type=bind,dst=/x', 'busybox', 'true'],
      ['run', '--pod', POD, '--mount', 'type=volume,src=v1,dst=/x,readonly=maybe', 'busybox', 'true'],
      ['run', '--pod', POD, '-v', 'v1:/x', '--mount', 'type=volume,src=v2,dst=/x', 'busybox', 'true'],
      ['volume', 'inspect', 'never-made'],
    ]) {
      const r = cli(...args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(125);
      expect(isOneLineRefusal(r), `${args.join(' ')}: ${r.stderr}`).toBe(true);
    }
    expect(cli('ps', '-a', '-q').stdout).toBe(before);
    expect(cli('volume', 'ls', '-q').stdout).toBe(volumesBefore);
  });
});
