// Images the registry tests make themselves: a busybox rootfs (from the
// host's busybox-static) plus small layers, written as an OCI image layout
// that real skopeo then copies into archives and registries. Nothing comes
// from the network.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { sha256, tarBuffer, type TarEntry } from './archives.js';
import { makeBusyboxTarball } from './busybox.js';

export interface LayoutLayer {
  /** The uncompressed layer tar. */
  tar: Buffer;
  /** zstd: by the zstd command (Debian zstd). */
  compression?: 'gzip' | 'none' | 'zstd';
}

export interface LayoutImage {
  layers: LayoutLayer[];
  cmd?: string[];
  architecture?: string;
}

export interface WrittenManifest {
  digest: string;
  size: number;
  configDigest: string;
  layerDigests: string[];
  diffIds: string[];
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

export function goArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch;
}

function writeBlob(dir: string, data: Buffer): { digest: string; size: number } {
  const hex = sha256(data);
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(dir, 'blobs', 'sha256', hex), data);
  return { digest: `sha256:${hex}`, size: data.length };
}

/** Writes the blobs of one image (config, layers, manifest) into an OCI layout; returns its manifest. */
export function writeImageBlobs(dir: string, img: LayoutImage): WrittenManifest {
  const diffIds = img.layers.map((l) => `sha256:${sha256(l.tar)}`);
  const config = Buffer.from(
    JSON.stringify({
      architecture: img.architecture ?? goArch(),
      os: 'linux',
      created: '2024-01-02T03:04:05Z',
      config: { Cmd: img.cmd ?? ['/bin/sh'], Env: ['PATH=/bin'] },
      rootfs: { type: 'layers', diff_ids: diffIds },
    }),
  );
  const c = writeBlob(dir, config);
  const layers = img.layers.map((l) => {
    const c = l.compression ?? 'gzip';
    const data = c === 'gzip' ? gzipSync(l.tar) : c === 'zstd' ? execFileSync('zstd', ['-q', '-c'], { input: l.tar, maxBuffer: 1 << 30 }) : l.tar;
    const suffix = c === 'none' ? '' : `+${c}`;
    return { mediaType: `application/vnd.oci.image.layer.v1.tar${suffix}`, ...writeBlob(dir, data) };
  });
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...c }, layers }));
  const m = writeBlob(dir, manifest);
  return { digest: m.digest, size: m.size, configDigest: c.digest, layerDigests: layers.map((l) => l.digest), diffIds };
}

export function writeIndex(dir: string, manifests: object[]): void {
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
}

/** An OCI layout with one image, tagged `tag` (skopeo's oci:DIR:TAG). */
export function writeLayout(dir: string, img: LayoutImage, tag = 'latest'): WrittenManifest {
  const m = writeImageBlobs(dir, img);
  writeIndex(dir, [{ mediaType: OCI_MANIFEST, digest: m.digest, size: m.size, annotations: { 'org.opencontainers.image.ref.name': tag } }]);
  return m;
}

/** The busybox rootfs tar, and a second layer that adds /srv/second.txt and deletes /srv/hello.txt (a whiteout). */
export async function busyboxLayers(work: string): Promise<{ base: Buffer; top: Buffer }> {
  const base = readFileSync(await makeBusyboxTarball(work));
  const entries: TarEntry[] = [
    { path: 'srv/', type: 'dir' },
    { path: 'srv/second.txt', content: 'from the second layer\n' },
    { path: 'srv/.wh.hello.txt', content: '' },
  ];
  return { base, top: tarBuffer(entries) };
}

/** Runs the real skopeo, with no policy file (the tests copy their own images) and its temp files in `tmp`. */
export function skopeo(args: string[], tmp: string): string {
  const r = spawnSync('skopeo', ['--insecure-policy', '--tmpdir', tmp, ...args], { encoding: 'utf8', env: { ...process.env, TMPDIR: tmp }, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`skopeo ${args.join(' ')} failed (exit ${r.status}): ${r.stderr}`);
  return r.stdout;
}

export function hasSkopeo(): boolean {
  try {
    execFileSync('skopeo', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
