// -v HOST:CTR[:ro] and --tmpfs, as docker and podman take them: a host file
// or directory shared with a container, read-only when asked, owned by the
// user on the host and by root inside (rootless: the user is the pod's
// root); every container path resolved inside the container's root, even
// through an image's symlink; bad specs refused in one line, leaving nothing.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupRoot, cliPath, tempRoot, testMode } from './helpers/env.js';
import { importImage } from './helpers/images.js';
import { nsbox, removeAllPods } from './helpers/nsbox.js';

const POD = 'vols';
let root: string;
let share: string;

beforeAll(() => {
  root = tempRoot();
  importImage(root, 'busybox');
  // An image whose /srv is a link to its own /etc: a mount on /srv must land there, inside the root.
  importImage(root, 'linked', [{ path: 'srv', type: 'symlink', linkpath: '/etc' }]);
  // And one whose /srv leads through /proc to the pause's root: never followed.
  importImage(root, 'proclink', [{ path: 'srv', type: 'symlink', linkpath: '/proc/1/root' }]);
  share = mkdtempSync(join(root, 'share-'));
  expect(nsbox(root, ['pod', 'create', '--name', POD]).code).toBe(0);
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

const run = (...args: string[]) => nsbox(root, ['run', '--pod', POD, ...args]);

function fresh(name: string): string {
  const d = join(share, name);
  mkdirSync(d);
  return d;
}

describe(`volumes (${testMode})`, () => {
  it('shares a host directory: the container reads and writes it, files are the user\'s on the host and root\'s inside', () => {
    const dir = fresh('rw');
    writeFileSync(join(dir, 'in.txt'), 'from the host\n');
    const r = run('--name', 'rw', '-v', `${dir}:/data`, 'busybox', 'sh', '-c', 'cat /data/in.txt; stat -c %u /data/in.txt; echo from the container > /data/out.txt');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('from the host\n0\n');
    expect(readFileSync(join(dir, 'out.txt'), 'utf8')).toBe('from the container\n');
    expect(statSync(join(dir, 'out.txt')).uid).toBe(process.getuid!());
  });

  it('a :ro file is read but not written; the same file shared rw is written (the control)', () => {
    const dir = fresh('ro');
    const file = join(dir, 'app.conf');
    writeFileSync(file, 'setting=1\n');
    const ro = run('--name', 'ro', '-v', `${file}:/etc/app.conf:ro`, 'busybox', 'sh', '-c', 'cat /etc/app.conf; echo changed > /etc/app.conf');
    expect(ro.stdout).toBe('setting=1\n');
    expect(ro.code).not.toBe(0);
    expect(ro.stderr).toMatch(/Read-only file system/);
    expect(readFileSync(file, 'utf8')).toBe('setting=1\n');
    const rw = run('--name', 'rw-file', '-v', `${file}:/etc/app.conf`, 'busybox', 'sh', '-c', 'echo changed > /etc/app.conf');
    expect(rw.code, rw.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('changed\n');
  });

  it('takes ./relative host paths from the working directory, and works under --read-only', () => {
    const dir = fresh('relative');
    // Run from the state root, so that ./share-…/relative names the directory.
    const r = spawnSync(process.execPath, [cliPath, '--root', root, 'run', '--pod', POD, '--name', 'rel', '--read-only', '-v', `./${relative(root, dir)}:/data`, 'busybox', 'sh', '-c', 'echo ok > /data/x && ! touch /etc/nope 2>/dev/null && echo root-ro'], { cwd: root, encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('root-ro\n');
    expect(readFileSync(join(dir, 'x'), 'utf8')).toBe('ok\n');
  });

  it('mounts a fresh tmpfs with its size: within it writes pass, beyond it they fail', () => {
    const r = run('--name', 'tmp', '--tmpfs', '/scratch:size=1m', 'busybox', 'sh', '-c', [
      'grep " /scratch " /proc/mounts | cut -d" " -f3',
      'dd if=/dev/zero of=/scratch/small bs=1k count=512 2>/dev/null && echo small-ok',
      'dd if=/dev/zero of=/scratch/big bs=1k count=2048 2>/dev/null || echo big-refused',
    ].join('; '));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('tmpfs\nsmall-ok\nbig-refused\n');
  });

  it('resolves the container path inside the root: an image link on it leads to the image\'s own directory, never the host\'s', () => {
    const dir = fresh('linked');
    writeFileSync(join(dir, 'marker-nsbox-volume'), 'x');
    const r = run('--name', 'linked', '-v', `${dir}:/srv`, 'linked', 'sh', '-c', 'ls /etc/marker-nsbox-volume && cat /etc/passwd >/dev/null 2>&1; echo done');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('/etc/marker-nsbox-volume\ndone\n');
    // The host's /etc got nothing: the link was followed inside the container's root.
    expect(readdirSync('/etc')).not.toContain('marker-nsbox-volume');
    const proc = run('--name', 'proclink', '-v', `${dir}:/srv`, 'proclink', 'true');
    expect(proc.code).toBe(125);
    expect(proc.stderr.trim().split('\n')).toHaveLength(1);
    expect(proc.stderr).toMatch(/\/proc link such as \/proc\/1\/root, which nsbox never follows/);
  });

  it('refuses bad specs in one line, before anything is made', () => {
    const dir = fresh('bad');
    const before = JSON.parse(nsbox(root, ['ps', '-a', '--format', 'json']).stdout).length;
    for (const [args, message] of [
      [['-v', 'data/sub:/x'], /"data\/sub" is neither a host path nor a volume name: .*\.\/data\/sub/],
      [['-v', `${dir}/missing:/x`], /does not exist/],
      [['-v', `${dir}:x`], /container path "x" is not absolute/],
      [['-v', `${dir}:/`], /cover the container's whole root/],
      [['-v', `${dir}:/x:rx`], /unknown option "rx"/],
      [['-v', `${dir}:/x`, '-v', `${dir}:/x`], /two mounts on \/x/],
      [['--tmpfs', '/t:size=lots'], /invalid tmpfs option "size=lots"/],
    ] as const) {
      const r = run(...args, 'busybox', 'true');
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(125);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    expect(JSON.parse(nsbox(root, ['ps', '-a', '--format', 'json']).stdout)).toHaveLength(before);
    rmSync(dir, { recursive: true });
  });
});

