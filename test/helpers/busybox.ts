// A tiny busybox rootfs tarball made in the test from the host's static
// busybox (Debian busybox-static), so container tests need no network.
// Entries are root-owned with exact modes (rootfs/lib/tar-writer.mjs).
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cliPath } from './env.js';
// @ts-expect-error: plain ESM helper without type declarations
import { writeRootfsTar } from '../../rootfs/lib/tar-writer.mjs';

export async function makeBusyboxTarball(dir: string): Promise<string> {
  const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  const entries = [
    ...['bin', 'etc', 'proc', 'sys', 'dev', 'root', 'var', 'var/www', 'srv'].map((path) => ({ path, type: 'dir', mode: 0o755 })),
    { path: 'tmp', type: 'dir', mode: 0o1777 },
    { path: 'bin/busybox', type: 'file', mode: 0o755, source: '/bin/busybox' },
    ...applets.map((a) => ({ path: `bin/${a}`, type: 'symlink', linkpath: 'busybox' })),
    { path: 'etc/passwd', type: 'file', mode: 0o644, data: 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' },
    { path: 'etc/group', type: 'file', mode: 0o644, data: 'root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\n' },
    { path: 'srv/hello.txt', type: 'file', mode: 0o644, data: 'hello from the image\n' },
  ];
  const file = join(dir, 'busybox.tar');
  writeRootfsTar(file, entries);
  return file;
}

/** Makes the busybox tarball in `root` and imports it there as image `busybox`; returns the tarball. */
export async function importBusybox(root: string): Promise<string> {
  const tarball = await makeBusyboxTarball(root);
  const r = spawnSync(process.execPath, [cliPath, '--root', root, 'image', 'import', tarball, '--name', 'busybox'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`importing the busybox image failed (exit ${r.status}): ${r.stderr}`);
  return tarball;
}
