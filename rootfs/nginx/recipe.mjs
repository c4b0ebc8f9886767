// nginx rootfs: Debian bookworm with nginx-light, made by mmdebstrap from the
// machine's configured Debian mirror (plus -updates and -security), rootless
// with --mode=unshare (needs newuidmap/newgidmap and a subuid range), and in
// the same mode as root when user namespaces work (else --mode=root).
//
// Shrunk with dpkg path-excludes (man pages, locales, docs except copyright
// files; kept in /etc/dpkg/dpkg.cfg.d for later installs) and a merged /usr
// set up by mmdebstrap's merged-usr hook (usr-is-merged instead of usrmerge,
// which drags in perl). /etc/hostname and /etc/resolv.conf are left empty:
// mmdebstrap copies the host's, and the runtime provides its own.
import { slimDebianArgs } from '../lib/debian.mjs';
import { checkSubids, mmdebstrapProgress, pickMmdebstrapMode } from '../build.mjs';

export const description = 'Debian bookworm + nginx-light (mmdebstrap --variant=apt)';

const SUITE = 'bookworm';

export function tools() {
  const t = [{ cmd: 'mmdebstrap', pkg: 'mmdebstrap' }];
  if (process.getuid() !== 0) t.push({ cmd: 'newuidmap', pkg: 'uidmap' }, { cmd: 'newgidmap', pkg: 'uidmap' });
  return t;
}

export const verify = {
  paths: [
    'usr/sbin/nginx',
    'etc/nginx/nginx.conf',
    'etc/nginx/sites-enabled/default',
    'etc/nginx/mime.types',
    'run',
    'var/www/html',
    'var/log/nginx',
    'var/lib/nginx',
    'usr/bin/sh',
  ],
  users: ['root', 'www-data', 'nobody'],
  groups: ['root', 'www-data', 'nogroup'],
};


const CUSTOMIZE = [
  // the host's hostname and resolver do not belong in an image
  ': > "$1/etc/hostname"',
  ': > "$1/etc/resolv.conf"',
  // nginx must be usable as installed: fail the build here if it is not
  'test -x "$1/usr/sbin/nginx"',
  'grep -q "^www-data:" "$1/etc/passwd"',
  'mkdir -p "$1/run" "$1/var/www/html" "$1/var/log/nginx"',
].join('; ');

export async function build(ctx) {
  const mode = ctx.mmdebstrapMode ?? pickMmdebstrapMode();
  if (mode === 'unshare' && !ctx.isRoot) checkSubids();
  const sources = ctx.debianSources(SUITE);
  ctx.log(`mmdebstrap --mode=${mode}, sources: ${sources.map((l) => l.split(' ').slice(1, 3).join(' ')).join(', ')}`);
  const args = [
    `--mode=${mode}`,
    '--variant=apt',
    '--include=nginx-light',
    '--format=tar',
    '--verbose',
    ...slimDebianArgs(),
    `--customize-hook=${CUSTOMIZE}`,
    SUITE,
    ctx.out,
    ...sources,
  ];
  ctx.phase('running mmdebstrap');
  await ctx.run('mmdebstrap', args, { onLine: mmdebstrapProgress(ctx) });
}
