// The import's disk-space bound: a layer may expand to at most the store's
// free space minus a 1 GiB reserve, or NSBOX_IMAGE_MAX_SIZE when set. A tar
// entry announcing more is refused at its header, before its data is
// written, and the failed import leaves nothing in the store.
import { spawnSync } from 'node:child_process';
import { readdirSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Header } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBusybox } from './helpers/busybox.js';
import { cleanupRoot, cliPath, tempRoot, testMode } from './helpers/env.js';
import { nsbox } from './helpers/nsbox.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
let root: string;

beforeAll(async () => {
  root = tempRoot();
  await importBusybox(root); // the store exists, with one image, before the tests
});
afterAll(() => cleanupRoot(root));

interface Entry {
  path: string;
  /** The size the header announces. */
  announced: number;
  /** What follows the header (shorter than announced: the archive is cut there). */
  body: Buffer;
}

/** A tar whose headers announce sizes of our choosing; it ends with its end blocks only if every body is whole. */
function writeAnnouncingTar(file: string, entries: Entry[]): string {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const header = Buffer.alloc(512);
    new Header({ path: e.path, mode: 0o644, uid: 0, gid: 0, size: e.announced, mtime: new Date('2024-01-02T03:04:05Z'), type: 'File' }).encode(header);
    blocks.push(header, e.body, Buffer.alloc((512 - (e.body.length % 512)) % 512));
  }
  if (entries.every((e) => e.body.length === e.announced)) blocks.push(Buffer.alloc(1024));
  writeFileSync(file, Buffer.concat(blocks));
  return file;
}

const whole = (path: string, bytes: number): Entry => ({ path, announced: bytes, body: Buffer.alloc(bytes, 0x61) });

/** `nsbox image import` with NSBOX_IMAGE_MAX_SIZE as given (unset: the free-space bound), optionally under a file size limit. */
function importArchive(file: string, opts: { maxSize?: string; fileSizeLimit?: number } = {}): { code: number; stderr: string } {
  const env = { ...process.env };
  delete env.NSBOX_IMAGE_MAX_SIZE;
  if (opts.maxSize) env.NSBOX_IMAGE_MAX_SIZE = opts.maxSize;
  const cli = [process.execPath, cliPath, '--root', root, 'image', 'import', file, '--name', 'big'];
  const argv = opts.fileSizeLimit ? ['prlimit', `--fsize=${opts.fileSizeLimit}`, ...cli] : cli;
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env, timeout: 60_000 });
  return { code: r.status ?? 128 + 9, stderr: r.stderr };
}

/** What the store holds: records and names, layers, scratch directories. */
function store(): { top: string[]; layers: string[]; tmp: string[] } {
  const images = join(root, 'images');
  return { top: readdirSync(images).sort(), layers: readdirSync(join(images, 'layers')).sort(), tmp: readdirSync(join(images, 'tmp')) };
}

function freeBytes(): number {
  const fs = statfsSync(join(root, 'images', 'tmp'));
  return fs.bavail * fs.bsize;
}

describe(`image import disk-space bound (${testMode})`, () => {
  it('refuses a layer that would leave less than the 1 GiB reserve free, at its header; a smaller one gets past the header', () => {
    const before = store();
    // It would fit on the disk, but not with the reserve left over. The archive is cut
    // right after the header: read any further, and the error would be the cut instead.
    const free = freeBytes();
    const tooBig = writeAnnouncingTar(join(root, 'too-big.tar'), [whole('small', 1024), { path: 'huge', announced: free - 256 * MiB, body: Buffer.alloc(1024) }]);
    const refused = importArchive(tooBig);
    expect(refused.code).toBe(125);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    const m = /expands beyond (\d+) MiB \(at "huge"\), more than the store can take: free disk space, or raise the bound with NSBOX_IMAGE_MAX_SIZE/.exec(refused.stderr);
    expect(m, refused.stderr).not.toBeNull();
    // The bound is the free space less the reserve (others use this disk too: give or take a few GiB).
    const bound = Number(m![1]) * MiB;
    expect(bound).toBeLessThan(free - 256 * MiB);
    expect(bound).toBeGreaterThan(free - GiB - 4 * GiB);
    expect(store()).toEqual(before);

    // Control: well under the bound, the same cut archive gets past the header and fails on the cut.
    const fits = writeAnnouncingTar(join(root, 'fits.tar'), [whole('small', 1024), { path: 'huge', announced: freeBytes() - GiB - 4 * GiB, body: Buffer.alloc(1024) }]);
    const cut = importArchive(fits);
    expect(cut.code).toBe(125);
    expect(cut.stderr).not.toMatch(/expands beyond/);
    expect(cut.stderr).toMatch(/truncated input|ended early|end-of-archive/i);
    expect(store()).toEqual(before);
  });

  it('NSBOX_IMAGE_MAX_SIZE: a layer beyond it is refused before its data is written, and nothing is left', () => {
    const before = store();
    const archive = writeAnnouncingTar(join(root, 'eight-mib.tar'), [whole('before', 1024), whole('huge', 8 * MiB), whole('after', 1024)]);
    // Control: the archive is good; under a 16M bound it imports.
    const ok = importArchive(archive, { maxSize: '16M' });
    expect(ok.code, ok.stderr).toBe(0);
    expect(nsbox(root, ['image', 'rm', 'big']).code).toBe(0);
    expect(store()).toEqual(before);
    // Control: with at most 2 MiB writable per file, extracting the 8 MiB file fails.
    const limited = importArchive(archive, { maxSize: '16M', fileSizeLimit: 2 * MiB });
    expect(limited.code).toBe(125);
    expect(limited.stderr).toMatch(/EFBIG|too large/i);
    expect(store()).toEqual(before);
    // Under a 1M bound and the same 2 MiB limit: refused for its size, not by the limit,
    // so the 8 MiB were never written.
    const refused = importArchive(archive, { maxSize: '1M', fileSizeLimit: 2 * MiB });
    expect(refused.code).toBe(125);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/expands beyond 1 MiB \(at "huge"\)/);
    expect(refused.stderr).not.toMatch(/EFBIG/);
    expect(store()).toEqual(before);
    expect(nsbox(root, ['image', 'inspect', 'big']).code).not.toBe(0);
  });
});
