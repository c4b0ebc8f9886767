// Archives made in the tests: tar entries written byte by byte (so malicious
// ones — `../x`, absolute paths, symlinks out, hard links out — are exactly
// what the test says), docker save archives and OCI image layouts built from
// those layers, and a way to run a command as root of the image store's user
// namespace (to see owners as containers see them, or to mount overlayfs).
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Header, Pax } from 'tar';

export interface TarEntry {
  path: string;
  type?: 'file' | 'dir' | 'symlink' | 'link' | 'char' | 'block' | 'fifo';
  content?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Target of a symlink or hard link. */
  linkpath?: string;
}

const TYPES = {
  file: 'File',
  dir: 'Directory',
  symlink: 'SymbolicLink',
  link: 'Link',
  char: 'CharacterDevice',
  block: 'BlockDevice',
  fifo: 'FIFO',
} as const;

const MTIME = new Date('2024-01-02T03:04:05Z');

/** A tar archive of exactly these entries, in this order, with two end blocks. */
export function tarBuffer(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? 'file';
    const body = type === 'file' ? Buffer.from(e.content ?? '') : Buffer.alloc(0);
    const data = {
      path: e.path,
      mode: e.mode ?? (type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      size: body.length,
      mtime: MTIME,
      type: TYPES[type],
      linkpath: e.linkpath ?? '',
      uname: '',
      gname: '',
      devmaj: type === 'char' ? 1 : 0,
      devmin: type === 'char' ? 3 : 0,
    };
    const header = new Header(data);
    const block = Buffer.alloc(512);
    header.encode(block);
    if (header.needPax) blocks.push(new Pax({ path: e.path, linkpath: e.linkpath }).encode());
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function writeTar(file: string, entries: TarEntry[]): string {
  writeFileSync(file, tarBuffer(entries));
  return file;
}

export function writeTgz(file: string, entries: TarEntry[]): string {
  writeFileSync(file, gzipSync(tarBuffer(entries)));
  return file;
}

/** A layer: its tar entries, stored gzipped or not. */
export interface LayerSpec {
  entries: TarEntry[];
  gzip?: boolean;
}

export interface ConfigSpec {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, object>;
  StopSignal?: string;
  Healthcheck?: { Test: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number };
}

interface BuiltLayer {
  diffId: string;
  blob: Buffer;
  digest: string;
}

function buildLayers(layers: LayerSpec[]): BuiltLayer[] {
  return layers.map((l) => {
    const tar = tarBuffer(l.entries);
    const blob = l.gzip ? gzipSync(tar) : tar;
    return { diffId: `sha256:${sha256(tar)}`, blob, digest: `sha256:${sha256(blob)}` };
  });
}

export function configJson(config: ConfigSpec, diffIds: string[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: process.arch === 'x64' ? 'amd64' : process.arch,
      os: 'linux',
      created: '2024-01-02T03:04:05Z',
      config,
      rootfs: { type: 'layers', diff_ids: diffIds },
    }),
  );
}

export interface ImageSpec {
  layers: LayerSpec[];
  config?: ConfigSpec;
  repoTags?: string[];
}

/** The id nsbox (and Docker) gives the image: the sha256 of its config. */
export function imageId(spec: ImageSpec): string {
  return sha256(configJson(spec.config ?? {}, buildLayers(spec.layers).map((l) => l.diffId)));
}

/**
 * A `docker save` archive (the classic layout: <id>/layer.tar, <config>.json,
 * manifest.json, repositories). `manifestOverride` replaces the manifest, for
 * malicious cases.
 */
export function writeDockerSave(file: string, images: ImageSpec[], opts: { manifestOverride?: unknown; extra?: TarEntry[] } = {}): string {
  const entries: TarEntry[] = [];
  const manifest: unknown[] = [];
  const seen = new Set<string>();
  for (const img of images) {
    const layers = buildLayers(img.layers);
    const config = configJson(img.config ?? {}, layers.map((l) => l.diffId));
    const configName = `${sha256(config)}.json`;
    const layerPaths: string[] = [];
    for (const l of layers) {
      const dir = sha256(l.digest + l.diffId);
      layerPaths.push(`${dir}/layer.tar`);
      if (seen.has(dir)) continue;
      seen.add(dir);
      entries.push({ path: `${dir}/`, type: 'dir' }, { path: `${dir}/VERSION`, content: '1.0' }, { path: `${dir}/layer.tar`, content: l.blob });
    }
    if (!seen.has(configName)) entries.push({ path: configName, content: config });
    seen.add(configName);
    manifest.push({ Config: configName, RepoTags: img.repoTags ?? null, Layers: layerPaths });
  }
  entries.push(...(opts.extra ?? []));
  entries.push({ path: 'manifest.json', content: JSON.stringify(opts.manifestOverride ?? manifest) });
  return writeTar(file, entries);
}

/** The files of an OCI image layout for one image: path -> content. */
export function ociLayoutFiles(img: ImageSpec, opts: { refName?: string } = {}): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const layers = buildLayers(img.layers);
  const config = configJson(img.config ?? {}, layers.map((l) => l.diffId));
  const blob = (b: Buffer) => {
    const d = sha256(b);
    files.set(`blobs/sha256/${d}`, b);
    return { digest: `sha256:${d}`, size: b.length };
  };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...blob(config) },
      layers: layers.map((l, i) => ({
        mediaType: img.layers[i]!.gzip ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar',
        ...blob(l.blob),
      })),
    }),
  );
  const m = blob(manifest);
  files.set('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  files.set(
    'index.json',
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: opts.refName ? { 'org.opencontainers.image.ref.name': opts.refName } : undefined }],
      }),
    ),
  );
  return files;
}

export function writeOciDir(dir: string, img: ImageSpec): string {
  for (const [path, content] of ociLayoutFiles(img)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

export function writeOciTar(file: string, img: ImageSpec): string {
  const entries: TarEntry[] = [{ path: 'blobs/', type: 'dir' }, { path: 'blobs/sha256/', type: 'dir' }];
  for (const [path, content] of ociLayoutFiles(img)) entries.push({ path, content });
  return writeTar(file, entries);
}

// ------------------------------------------------------------ user namespace

export interface UsernsResult {
  code: number | null;
  output: string;
}

/**
 * Runs argv as root of the image store's user namespace (the same mapping
 * extraction uses) and returns its exit code and output (stdout+stderr).
 */
export async function inUserns(argv: string[], scratchDir: string): Promise<UsernsResult> {
  const { spawnInUserns } = await import('../../dist/idmap/userns-process.js');
  const out = join(scratchDir, `userns-out-${process.pid}-${Math.random().toString(16).slice(2)}`);
  const fd = openSync(out, 'w', 0o644);
  let open = true;
  try {
    const child = await spawnInUserns({ argv, env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], stdio: [-1, fd, fd] });
    closeSync(fd);
    open = false;
    const status = await child.exit;
    return { code: status.code, output: readFileSync(out, 'utf8') };
  } finally {
    if (open) closeSync(fd);
    rmSync(out, { force: true });
  }
}

/** Removes a tree that may hold files of mapped ids (an image store, a materialized rootfs). */
export async function removeStoreTree(path: string): Promise<void> {
  const { removeTree } = await import('../../dist/image/worker-client.js');
  await removeTree(path);
}
