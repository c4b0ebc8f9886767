// A tiny busybox rootfs tarball made in the test from the host's static
// busybox (Debian busybox-static), so container tests need no network.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { c as tarCreate } from 'tar';

export async function makeBusyboxTarball(dir: string): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'nsbox-bb-'));
  chmodSync(root, 0o755); // the image's / (mkdtemp makes it 0700)
  try {
    for (const d of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root', 'var/www', 'srv']) mkdirSync(join(root, d), { recursive: true });
    chmodSync(join(root, 'tmp'), 0o1777);
    copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
    const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
    for (const a of applets) symlinkSync('busybox', join(root, 'bin', a));
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n');
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\n');
    writeFileSync(join(root, 'srv/hello.txt'), 'hello from the image\n');
    const file = join(dir, 'busybox.tar');
    await tarCreate({ file, cwd: root, portable: true }, ['.']);
    return file;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
