// Manifests as registries serve them: OCI and Docker schema 2 image
// manifests, and the indexes (manifest lists) that point at one per
// platform. Only what is checked here is trusted: sizes bounded, digests of
// what was fetched by digest verified, media types we know.
import { createHash } from 'node:crypto';
import { NsboxError } from '../errors.js';

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.dockerManifest].join(', ');

/** containerd's bound: a manifest or index bigger than this is no real one. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export type Compression = 'none' | 'gzip' | 'zstd';

export interface ImageManifest {
  config: Descriptor;
  layers: (Descriptor & { compression: Compression })[];
}

function bad(what: string, why: string): NsboxError {
  return new NsboxError('BAD_MANIFEST', `${what}: ${why}`, 'the registry sent something that is not a valid image; check the reference');
}

export function sha256Digest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Throws unless `bytes` hash to `digest`. */
export function verifyDigest(bytes: Buffer, digest: string, what: string): void {
  const actual = sha256Digest(bytes);
  if (actual !== digest) throw new NsboxError('DIGEST_MISMATCH', `${what} does not match its digest (expected ${digest}, got ${actual})`, 'the registry or something between is corrupting data; nothing was stored');
}

function descriptor(v: unknown, what: string): Descriptor {
  const d = v as Descriptor;
  if (typeof d !== 'object' || d === null || typeof d.digest !== 'string' || typeof d.mediaType !== 'string' || typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0)
    throw bad(what, 'a descriptor lacks its mediaType, digest or size');
  if (!/^sha256:[0-9a-f]{64}$/.test(d.digest)) throw bad(what, `unsupported digest ${JSON.stringify(d.digest)} (only sha256)`);
  return d;
}

export function parsePlatform(s: string): Platform {
  const parts = s.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/.test(p)))
    throw new NsboxError('INVALID_ARGUMENT', `--platform ${JSON.stringify(s)} is not OS/ARCH[/VARIANT]`, 'e.g. --platform linux/amd64 or linux/arm64/v8');
  return { os: parts[0]!, architecture: parts[1]!, ...(parts[2] ? { variant: parts[2] } : {}) };
}

export function formatPlatform(p: { os?: string; architecture?: string; variant?: string }): string {
  return [p.os ?? '?', p.architecture ?? '?', ...(p.variant ? [p.variant] : [])].join('/');
}

function parseJson(bytes: Buffer, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw bad(what, `not valid JSON (${(err as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(what, 'not a JSON object');
  return v as Record<string, unknown>;
}

/** index | manifest, from the served Content-Type, else the document's own mediaType. */
export function manifestKind(bytes: Buffer, contentType: string | null, what: string): { kind: 'index' | 'manifest'; doc: Record<string, unknown> } {
  const doc = parseJson(bytes, what);
  if (doc.schemaVersion === 1) throw new NsboxError('UNSUPPORTED_MANIFEST', `${what} is a Docker schema 1 manifest, which nsbox does not read`, 'push the image again with a current client (schema 2 or OCI)');
  const type = (typeof doc.mediaType === 'string' && doc.mediaType) || (contentType ?? '').split(';')[0]!.trim() || (Array.isArray(doc.manifests) ? MEDIA.ociIndex : MEDIA.ociManifest);
  if (type === MEDIA.ociIndex || type === MEDIA.dockerList) return { kind: 'index', doc };
  if (type === MEDIA.ociManifest || type === MEDIA.dockerManifest) return { kind: 'manifest', doc };
  throw new NsboxError('UNSUPPORTED_MANIFEST', `${what} has the media type ${JSON.stringify(type)}, which nsbox does not know`, 'only OCI and Docker schema 2 images can be pulled');
}

/** The manifest of an index for `want`: os and architecture must match, and the variant when one is asked for. */
export function selectPlatform(doc: Record<string, unknown>, want: Platform, what: string): Descriptor {
  if (!Array.isArray(doc.manifests)) throw bad(what, 'an index without manifests');
  const all = doc.manifests.map((m, i) => descriptor(m, `${what}, entry ${i + 1}`));
  const images = all.filter((d) => d.mediaType === MEDIA.ociManifest || d.mediaType === MEDIA.dockerManifest);
  const matching = images.filter((d) => d.platform?.os === want.os && d.platform?.architecture === want.architecture && (!want.variant || d.platform?.variant === want.variant));
  if (matching.length === 0) {
    const offered = [...new Set(images.filter((d) => d.platform).map((d) => formatPlatform(d.platform!)))].filter((p) => !p.startsWith('unknown/'));
    throw new NsboxError('NO_PLATFORM', `${what} has no image for ${formatPlatform(want)} (it has ${offered.join(', ') || 'none with a platform'})`, 'choose one with --platform OS/ARCH');
  }
  return matching[0]!;
}

function compressionOf(mediaType: string, what: string): Compression {
  const base = mediaType.replace('.nondistributable', '').replace('.foreign', '');
  if (base === MEDIA.ociLayer || base === 'application/vnd.docker.image.rootfs.diff.tar') return 'none';
  if (base === MEDIA.ociLayerGzip || base === MEDIA.dockerLayerGzip) return 'gzip';
  if (base === MEDIA.ociLayerZstd || base === 'application/vnd.docker.image.rootfs.diff.tar.zstd') return 'zstd';
  throw new NsboxError('UNSUPPORTED_MEDIA_TYPE', `${what} has the media type ${JSON.stringify(mediaType)}, which nsbox does not know`, 'only tar layers (plain, gzip or zstd) can be pulled');
}

export function parseImageManifest(doc: Record<string, unknown>, what: string, maxLayers: number): ImageManifest {
  const config = descriptor(doc.config, `${what} config`);
  if (config.size > MAX_CONFIG_BYTES) throw new NsboxError('REGISTRY_TOO_LARGE', `${what}: its config is ${config.size} bytes, more than the ${MAX_CONFIG_BYTES} nsbox accepts`, 'the image is hostile or broken');
  if (!Array.isArray(doc.layers)) throw bad(what, 'no layers');
  if (doc.layers.length > maxLayers) throw new NsboxError('TOO_MANY_LAYERS', `${what} has ${doc.layers.length} layers; nsbox takes at most ${maxLayers}`, 'squash the image (Docker itself stops at 125 layers)');
  const layers = doc.layers.map((l, i) => {
    const d = descriptor(l, `${what} layer ${i + 1}`);
    return { ...d, compression: compressionOf(d.mediaType, `${what} layer ${i + 1}`) };
  });
  return { config, layers };
}
