// `nsbox push IMAGE [DEST]`: uploads a stored image to a registry. For each
// layer: a blob the destination has (HEAD) is not sent; one this layer was
// pulled from on the same registry is mounted from its repository (no
// bytes); otherwise the layer's tar is rebuilt from the store (export.ts, so
// its digest is its diff_id) and uploaded as a
// plain tar layer: in one PUT (monolithic), or, above the chunk size, in
// PATCHes with Content-Range and a closing PUT. Each blob pushed is noted
// beside the layer (sources.json), so a push to another repository of that
// registry mounts it; a registry that answers a mount with 202 (it did not
// mount) gets the upload in that session. Then the config (the one the image
// came with) and the manifest. The store's images are left unchanged.
import { createReadStream, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NsboxError } from '../errors.js';
import { lookupCredentials, type Credentials } from '../registry/auth-file.js';
import { RegistryClient } from '../registry/client.js';
import { MEDIA, sha256Digest } from '../registry/manifest.js';
import { parseRemoteRef } from '../registry/reference.js';
import { endpointsFor, loadRegistriesConf } from '../registry/registries-conf.js';
import { writeJsonAtomic } from '../state/atomic.js';
import { defaultDataRoot } from '../state/paths.js';
import { exportLayers, imageConfigBytes } from './export.js';
import { formatSeconds, plural, shortDigest } from './format.js';
import { sweepStale } from './import.js';
import { digestHex, ensureImageDirs, imagePaths } from './paths.js';
import { BLOB_SOURCES, type BlobSource } from './pull.js';
import { findImage, readLayerMeta } from './store.js';
import { withImageLock } from './store-write.js';
import { removeTree } from './worker-client.js';

/** Layers larger than this go in chunks of this size (PATCH with Content-Range); smaller ones in one PUT. */
export const DEFAULT_CHUNK_SIZE = 64 * 1024 * 1024;

export interface PushOptions {
  root?: string;
  tlsVerify?: boolean;
  certDir?: string;
  /** Bytes per PATCH of a chunked upload; a blob larger than this is chunked (default 64 MiB). */
  chunkSize?: number;
  /** Used instead of the stored ones (the Docker API's X-Registry-Auth). */
  credentials?: Credentials | null;
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
}

export interface PushResult {
  /** The digest of the manifest pushed. */
  digest: string;
  destination: string;
  uploaded: number;
  mounted: number;
  present: number;
  summary: string;
}

interface LayerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
}

function blobSources(root: string, diffId: string): BlobSource[] {
  try {
    const v = JSON.parse(readFileSync(join(imagePaths.layer(root, digestHex(diffId)), BLOB_SOURCES), 'utf8')) as unknown;
    return Array.isArray(v) ? (v as BlobSource[]) : [];
  } catch {
    return [];
  }
}

export async function pushImage(ref: string, dest: string | undefined, opts: PushOptions = {}): Promise<PushResult> {
  const t0 = performance.now();
  const root = resolve(opts.root ?? defaultDataRoot());
  const image = findImage(root, ref);
  const target = dest ?? image.names.find((n) => n === ref || n.endsWith(`/${ref}`)) ?? ref;
  const named = parseRemoteRef(target);
  if (!named.tag) throw new NsboxError('INVALID_IMAGE_NAME', `push ${target}: the destination needs a tag`, 'give DEST as REGISTRY/NAME:TAG');
  if (named.registry === 'docker.io' && !target.startsWith('docker.io/') && !dest)
    throw new NsboxError('INVALID_IMAGE_NAME', `${ref} names no registry`, 'give the destination: nsbox push IMAGE REGISTRY/NAME:TAG');
  const say = (line: string) => {
    try {
      opts.onProgress?.(line);
    } catch {
      // progress never breaks a push
    }
  };
  // registries.conf: a blocked registry is refused, its location and insecure apply (mirrors are for pulls only).
  const [ep] = endpointsFor(loadRegistriesConf(), `${named.registry}/${named.repository}`, { mirrors: false });
  const r = ep!.name === `${named.registry}/${named.repository}` ? named : parseRemoteRef(`${ep!.name}:${named.tag}`);
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) throw new NsboxError('INVALID_ARGUMENT', `chunk size ${chunkSize} is not a positive number of bytes`, 'give a size such as 64M');
  const configBytes = imageConfigBytes(root, image);
  const client = new RegistryClient(r.apiHost, { tlsVerify: opts.tlsVerify ?? (ep!.insecure ? false : undefined), certDir: opts.certDir, credentials: opts.credentials ?? lookupCredentials(r.registry), signal: opts.signal });
  const scope = `repository:${r.repository}:pull,push`;
  const blobUrl = (d: string) => `/v2/${r.repository}/blobs/${d}`;
  const failed = async (res: { status: number; body?: { cancel(): Promise<void> } | null }, what: string): Promise<never> => {
    await res.body?.cancel().catch(() => {});
    throw new NsboxError('REGISTRY_ERROR', `${r.registry}/${r.repository}: ${what} answered ${res.status}`, res.status === 403 ? `this account may not push there: \`nsbox login ${r.registry}\`` : 'check the destination');
  };
  const has = async (digest: string): Promise<boolean> => {
    const res = await client.request(blobUrl(digest), { method: 'HEAD', scope });
    await res.body?.cancel().catch(() => {});
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    return failed(res, `checking blob ${digest}`);
  };
  /** POST an upload session; `mount` asks for a cross-repository mount (201 means done). */
  const startUpload = async (mount?: { digest: string; from: string }): Promise<string | null> => {
    const q = mount ? `?mount=${mount.digest}&from=${encodeURIComponent(mount.from)}` : '';
    const res = await client.request(`/v2/${r.repository}/blobs/uploads/${q}`, { method: 'POST', scope, headers: { 'content-length': '0' } });
    await res.body?.cancel().catch(() => {});
    if (mount && res.status === 201) return null;
    if (res.status !== 202) return failed(res, 'starting an upload');
    const location = res.headers.get('location');
    if (!location) throw new NsboxError('REGISTRY_ERROR', `${r.registry} started an upload without a Location`, 'the registry is misconfigured');
    return new URL(location, client.baseUrl).toString();
  };
  const upload = async (digest: string, size: number, body: Buffer | AsyncIterable<Uint8Array>, location?: string | null): Promise<void> => {
    const at = new URL(location ?? (await startUpload())!);
    at.searchParams.set('digest', digest);
    const res = await client.request(at.toString(), { method: 'PUT', scope, body, headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) } });
    await res.body?.cancel().catch(() => {});
    if (res.status !== 201) return failed(res, `uploading blob ${digest}`);
  };
  /** A file in PATCHes of chunkSize (each names its Content-Range and gets the next Location), then the PUT that names the digest. */
  const uploadChunked = async (digest: string, size: number, file: string, location?: string | null): Promise<number> => {
    let at = location ?? (await startUpload())!;
    let chunks = 0;
    for (let start = 0; start < size; start += chunkSize) {
      const end = Math.min(size, start + chunkSize) - 1;
      const res = await client.request(at, { method: 'PATCH', scope, body: createReadStream(file, { start, end }), headers: { 'content-type': 'application/octet-stream', 'content-length': String(end - start + 1), 'content-range': `${start}-${end}` } });
      await res.body?.cancel().catch(() => {});
      if (res.status !== 202) return failed(res, `uploading bytes ${start}-${end} of blob ${digest}`);
      const next = res.headers.get('location');
      if (next) at = new URL(next, client.baseUrl).toString();
      chunks++;
    }
    await upload(digest, 0, Buffer.alloc(0), at);
    return chunks;
  };
  /** Notes where a layer's blob now is, for a later push's mount; a hint only, so a failure to write it is not the push's. */
  const noteSource = async (diffId: string, l: LayerDescriptor) => {
    const file = join(imagePaths.layer(root, digestHex(diffId)), BLOB_SOURCES);
    await withImageLock(root, () => {
      if (!existsSync(imagePaths.layer(root, digestHex(diffId)))) return;
      const known = blobSources(root, diffId).filter((s) => !(s.registry === client.host && s.repository === r.repository && s.digest === l.digest));
      writeJsonAtomic(file, [...known, { registry: client.host, repository: r.repository, digest: l.digest, mediaType: l.mediaType, size: l.size }]);
    }).catch(() => {});
  };

  ensureImageDirs(root);
  await sweepStale(root);
  let stage: string | null = null;
  let uploaded = 0;
  let mounted = 0;
  let present = 0;
  try {
    const layers: LayerDescriptor[] = [];
    const toExport: string[] = [];
    // Upload sessions a mount attempt opened without mounting (202): the upload goes there.
    const sessions = new Map<string, string>();
    for (const [i, diffId] of image.layers.entries()) {
      const label = `layer ${i + 1}/${image.layers.length}`;
      let done: LayerDescriptor | null = null;
      for (const s of blobSources(root, diffId).filter((s) => s.registry === r.apiHost)) {
        if (await has(s.digest)) {
          done = s;
          present++;
          say(`${label} ${shortDigest(s.digest)}: already there`);
          break;
        }
        if (s.repository === r.repository || sessions.has(diffId)) continue;
        const session = await startUpload({ digest: s.digest, from: s.repository }).catch(() => undefined);
        if (session === null) {
          done = s;
          mounted++;
          say(`${label} ${shortDigest(s.digest)}: mounted from ${s.repository}`);
          break;
        }
        if (session) sessions.set(diffId, session);
      }
      if (!done && (await has(diffId))) {
        done = { mediaType: MEDIA.ociLayer, digest: diffId, size: -1 };
        present++;
        say(`${label} ${shortDigest(diffId)}: already there`);
      }
      if (!done) toExport.push(diffId);
      layers.push(done ?? { mediaType: MEDIA.ociLayer, digest: diffId, size: -1 });
    }
    stage = mkdtempSync(join(imagePaths.tmp(root), `${process.pid}-push-`));
    const fileOf = (d: string) => join(stage!, digestHex(d));
    const sizes = toExport.length ? await exportLayers(root, [...new Set(toExport)], fileOf) : new Map<string, number>();
    for (const [i, l] of layers.entries()) {
      if (l.size === -1) l.size = sizes.get(image.layers[i]!) ?? readLayerMeta(root, image.layers[i]!)?.size ?? 0;
      if (!toExport.includes(image.layers[i]!) || (await has(l.digest))) continue; // a layer listed twice goes once
      const file = fileOf(image.layers[i]!);
      const session = sessions.get(image.layers[i]!);
      if (l.size > chunkSize) {
        const chunks = await uploadChunked(l.digest, l.size, file, session);
        say(`layer ${i + 1}/${layers.length} ${shortDigest(l.digest)}: uploaded in ${plural(chunks, 'chunk')}`);
      } else {
        await upload(l.digest, l.size, createReadStream(file), session);
        say(`layer ${i + 1}/${layers.length} ${shortDigest(l.digest)}: uploaded`);
      }
      uploaded++;
    }
    const configDigest = `sha256:${image.id}`;
    if (!(await has(configDigest))) await upload(configDigest, configBytes.length, configBytes);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.ociManifest,
        config: { mediaType: MEDIA.ociConfig, digest: configDigest, size: configBytes.length },
        layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
      }),
    );
    const res = await client.request(`/v2/${r.repository}/manifests/${r.tag}`, { method: 'PUT', scope, body: manifest, headers: { 'content-type': MEDIA.ociManifest } });
    await res.body?.cancel().catch(() => {});
    if (res.status !== 201) await failed(res, 'storing the manifest');
    for (const [i, l] of layers.entries()) await noteSource(image.layers[i]!, l);
    const digest = sha256Digest(manifest);
    const summary = `pushed ${target} (${shortDigest(digest)}, ${plural(layers.length, 'layer')}: ${uploaded} uploaded, ${mounted} mounted, ${present} already there, ${formatSeconds(performance.now() - t0)})`;
    return { digest, destination: target, uploaded, mounted, present, summary };
  } finally {
    if (stage) await removeTree(stage);
    await client.close();
  }
}
