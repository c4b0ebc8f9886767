// Small busybox images for escape tests, each with exactly the hostile
// entries a test names (a symlink `etc -> /proc/1/root/...`, a WorkingDir),
// written entry by entry and imported into the test's store.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeDockerSave, writeOciTar, writeTar, type ConfigSpec, type TarEntry } from './archives.js';
import { cliPath } from './env.js';

/** What the image's /srv/hello.txt says: positive controls read it. */
export const HELLO = 'hello from the image\n';

const strip = (p: string) => p.replace(/\/+$/, '');

let busybox: Buffer | null = null;
let applets: string[] | null = null;

/** A busybox root (sh and every applet, passwd with root/www-data/nobody, /srv/hello.txt, /tmp). */
export function busyboxEntries(): TarEntry[] {
  busybox ??= readFileSync('/bin/busybox');
  applets ??= execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  return [
    ...['bin', 'etc', 'proc', 'sys', 'dev', 'root', 'var', 'srv', 'run'].map((d) => ({ path: `${d}/`, type: 'dir' as const, mode: 0o755 })),
    { path: 'tmp/', type: 'dir', mode: 0o1777 },
    { path: 'bin/busybox', content: busybox, mode: 0o755 },
    ...applets.map((a) => ({ path: `bin/${a}`, type: 'symlink' as const, linkpath: 'busybox' })),
    { path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' },
    { path: 'etc/group', content: 'root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\n' },
    { path: 'srv/hello.txt', content: HELLO },
  ];
}

/**
 * The busybox root with `overrides` in place of the entries at the same
 * paths; an override of a directory (`etc` as a symlink) drops everything
 * the base had under it.
 */
export function imageEntries(overrides: TarEntry[]): TarEntry[] {
  const replaced = overrides.map((o) => strip(o.path));
  const keep = (e: TarEntry) => !replaced.some((r) => strip(e.path) === r || e.path.startsWith(`${r}/`));
  return [...busyboxEntries().filter(keep), ...overrides];
}

function importArchive(root: string, file: string, name?: string): void {
  const r = spawnSync(process.execPath, [cliPath, '--root', root, 'image', 'import', file, ...(name ? ['--name', name] : [])], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`importing ${file} failed (exit ${r.status}): ${r.stderr}`);
}

/** Imports the busybox root with `overrides` as image `name`; returns the name. */
export function importImage(root: string, name: string, overrides: TarEntry[] = []): string {
  importArchive(root, writeTar(join(root, `${name}.tar`), imageEntries(overrides)), name);
  return name;
}

/**
 * Imports the busybox root with `overrides` and an image `config`, as a
 * docker-save archive (tagged `name:1`) or an OCI archive; returns the name to run.
 */
export function importConfigImage(root: string, name: string, format: 'docker-save' | 'oci', config: ConfigSpec, overrides: TarEntry[] = []): string {
  const image = { layers: [{ entries: imageEntries(overrides) }], config, repoTags: [`${name}:1`] };
  const file = join(root, `${name}.tar`);
  if (format === 'oci') {
    importArchive(root, writeOciTar(file, image), name);
    return name;
  }
  importArchive(root, writeDockerSave(file, [image]));
  return `${name}:1`;
}
