// BusyBox rootfs: Debian's busybox-static (one static binary) plus a symlink
// per applet, /etc/passwd and /etc/group with root, www-data and nobody, the
// usual empty mount points, and /var/www/index.html for `httpd -h /var/www`.
// The binary is the host's /bin/busybox when that is a static ELF from the
// busybox-static package, else busybox-static is fetched with apt-get download
// from the machine's Debian mirror and unpacked with dpkg-deb. No network and
// well under a second in the first case. NSBOX_BUSYBOX_SOURCE=download forces
// the second.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { isStaticExecutable } from '../../scripts/lib/system-packages.mjs';

export const description = "Debian busybox-static, applet symlinks, passwd/group (~2 MB)";

export const verify = {
  paths: ['bin/busybox', 'bin/sh', 'usr/bin/wget', 'etc/passwd', 'etc/group', 'proc', 'sys', 'dev', 'tmp', 'root', 'var/www/index.html'],
  users: ['root', 'www-data', 'nobody'],
  groups: ['root', 'www-data', 'nogroup'],
  rootOwned: true,
};

const DIRS = [
  ['bin', 0o755], ['sbin', 0o755], ['usr/bin', 0o755], ['usr/sbin', 0o755], ['etc', 0o755],
  ['proc', 0o555], ['sys', 0o555], ['dev', 0o755], ['tmp', 0o1777], ['root', 0o700],
  ['run', 0o755], ['home', 0o755], ['var/log', 0o755], ['var/tmp', 0o1777], ['var/www', 0o755],
];

/** The package that owns `path` per dpkg, or null. */
function dpkgOwner(path) {
  const r = spawnSync('dpkg-query', ['-S', path], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  return r.stdout.split(':')[0].trim() || null;
}

function hostBusybox(ctx) {
  for (const candidate of ['/bin/busybox', '/usr/bin/busybox']) {
    let real;
    try {
      real = realpathSync(candidate);
    } catch {
      continue;
    }
    if (!isStaticExecutable(real)) {
      ctx.log(`${candidate} is not a static ELF: not using it`);
      continue;
    }
    const owner = dpkgOwner(candidate) ?? dpkgOwner(real);
    if (owner !== null && owner !== 'busybox-static') {
      ctx.log(`${candidate} belongs to ${owner}, not busybox-static: not using it`);
      continue;
    }
    return real;
  }
  return null;
}

async function downloadedBusybox(ctx) {
  await ctx.requireTool('apt-get', 'apt');
  await ctx.requireTool('dpkg-deb', 'dpkg');
  ctx.phase('fetching busybox-static (apt-get download)');
  const dl = join(ctx.work, 'deb');
  mkdirSync(dl);
  try {
    await ctx.run('apt-get', ['download', '-q', 'busybox-static'], { cwd: dl, quiet: true });
  } catch (e) {
    if (!ctx.isRoot) throw new Error(`apt-get download busybox-static failed (${e.message}); run apt-get update or install busybox-static`);
    await ctx.run('apt-get', ['update', '-q'], { env: { DEBIAN_FRONTEND: 'noninteractive' }, quiet: true });
    await ctx.run('apt-get', ['download', '-q', 'busybox-static'], { cwd: dl, quiet: true });
  }
  const deb = readdirSync(dl).find((f) => f.endsWith('.deb'));
  if (!deb) throw new Error('apt-get download busybox-static produced no .deb');
  const x = join(ctx.work, 'x');
  await ctx.run('dpkg-deb', ['-x', join(dl, deb), x], { quiet: true });
  for (const p of ['bin/busybox', 'usr/bin/busybox']) {
    const bin = join(x, p);
    if (isStaticExecutable(bin)) return bin;
  }
  throw new Error(`${deb} has no static bin/busybox`);
}

function overlayFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push({ path: relative(dir, p), type: 'file', source: p, mode: statSync(p).mode & 0o111 ? 0o755 : 0o644 });
    }
  };
  walk(dir);
  return out;
}

export async function build(ctx) {
  // NSBOX_BUSYBOX_SOURCE=download skips the host's binary (to test that path).
  let bin = process.env.NSBOX_BUSYBOX_SOURCE === 'download' ? null : hostBusybox(ctx);
  if (bin) ctx.log(`using the host's static ${bin} (busybox-static)`);
  else bin = await downloadedBusybox(ctx);

  const { stdout } = await ctx.run(bin, ['--list-full'], { capture: true, quiet: true });
  const applets = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.includes('/') && l !== 'bin/busybox');
  if (!applets.includes('bin/sh')) throw new Error(`${bin} --list-full has no bin/sh`);

  const entries = DIRS.map(([path, mode]) => ({ path, type: 'dir', mode }));
  entries.push({ path: 'bin/busybox', type: 'file', source: bin, mode: 0o755 });
  for (const a of applets) {
    entries.push({ path: a, type: 'symlink', linkpath: posix.relative(posix.dirname(`/${a}`), '/bin/busybox') });
  }
  entries.push(...overlayFiles(join(ctx.recipeDir, 'files')));

  // Reproducible: every entry gets SOURCE_DATE_EPOCH, else the binary's mtime.
  const epoch = process.env.SOURCE_DATE_EPOCH;
  const mtime = epoch ? new Date(Number(epoch) * 1000) : statSync(bin).mtime;
  const n = ctx.writeTar(ctx.out, entries, { mtime });
  ctx.log(`${applets.length} applets, ${n} entries`);
}
