// `nsbox pull`: fetches an image from a registry into the store. The
// manifest (an index selects the platform) and config are fetched whole and
// bounded; layers the store lacks (by diff_id) are fetched in parallel and
// streamed into the extraction worker as they arrive, hashed on the way (no
// copy of the blob is kept). Each layer is verified (its blob digest here,
// its diff_id by the worker) and moved into the store as soon as it is
// complete, so an interrupted pull keeps what it verified and a retry
// fetches only what is missing. The image record is written last.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NsboxError } from '../errors.js';
import { lookupCredentials, type Credentials } from '../registry/auth-file.js';
import { readBounded, RegistryClient } from '../registry/client.js';
import {
  MANIFEST_ACCEPT,
  MAX_MANIFEST_BYTES,
  formatPlatform,
  manifestKind,
  parseImageManifest,
  parsePlatform,
  selectPlatform,
  sha256Digest,
  verifyDigest,
  type Platform,
} from '../registry/manifest.js';
import { parseRemoteRef, type RemoteRef } from '../registry/reference.js';
import { endpointsFor, loadRegistriesConf, type Endpoint } from '../registry/registries-conf.js';
import { writeJsonAtomic } from '../state/atomic.js';
import { defaultDataRoot } from '../state/paths.js';
import { ociArch, parseImageConfig } from './config.js';
import { formatSeconds, formatSize, plural, shortDigest } from './format.js';
import { commit, layerSizeBound, MAX_LAYERS, sweepStale } from './import.js';
import { digestHex, ensureImageDirs, imagePaths } from './paths.js';
import type { ImageRecord, LayerMeta } from './record.js';
import { listImageRecords, readImageRecord, readLayerMeta } from './store.js';
import { withImageLock, writeImageRecords } from './store-write.js';
import { removeTree, runWorker, type FrameWriter } from './worker-client.js';
import type { ExtractLayerJob, LayerResult } from './worker-protocol.js';

/** images/layers/<hex>/sources.json: the registry blobs this layer came from. */
export const BLOB_SOURCES = 'sources.json';
export interface BlobSource {
  registry: string;
  repository: string;
  digest: string;
  mediaType: string;
  size: number;
}

/** Layers fetched at once: enough to fill a link, few enough not to thrash two cores. */
const PARALLEL_LAYERS = 3;

export interface PullProgress {
  phase: 'resolving' | 'layer' | 'done';
  /** 1-based layer number and count (phase 'layer'). */
  layer?: number;
  layers?: number;
  digest?: string;
  /** 'fetching' while bytes arrive, 'stored' once verified and in the store, 'present' if it was already. */
  state?: 'fetching' | 'stored' | 'present';
  bytes?: number;
  total?: number;
  message: string;
}

export interface PullOptions {
  root?: string;
  /** OS/ARCH[/VARIANT] (default linux/<this machine>). */
  platform?: string;
  /** false: any certificate, and plain HTTP. */
  tlsVerify?: boolean;
  certDir?: string;
  /** Used instead of the stored ones (the Docker API's X-Registry-Auth). */
  credentials?: Credentials | null;
  onProgress?: (p: PullProgress) => void;
  signal?: AbortSignal;
}

export interface PullResult {
  image: ImageRecord;
  /** The manifest's digest. */
  digest: string;
  layersFetched: number;
  layersPresent: number;
  bytesFetched: number;
  seconds: number;
  summary: string;
}

interface LayerPlan {
  layer: number;
  digest: string;
  size: number;
  diffId: string;
  compression: 'none' | 'gzip' | 'zstd';
  mediaType: string;
}

/** Errors after which the next mirror, or the next search registry, is tried. */
const FALL_THROUGH = new Set(['REGISTRY_UNREACHABLE', 'REGISTRY_TLS', 'REGISTRY_ERROR', 'REGISTRY_UNAUTHORIZED', 'REGISTRY_AUTH', 'REGISTRY_REDIRECTS', 'REGISTRY_TOO_LARGE', 'REGISTRY_BLOCKED', 'IMAGE_NOT_FOUND', 'DIGEST_MISMATCH', 'INCOMPLETE', 'BAD_MANIFEST']);

export async function pullImage(ref: string, opts: PullOptions = {}): Promise<PullResult> {
  const r = parseRemoteRef(ref);
  const conf = loadRegistriesConf();
  // A short name tries each unqualified-search registry in order (docker.io/library without any), and is also stored by that short name.
  const suffix = (r.tag ? `:${r.tag}` : '') + (r.digest ? `@${r.digest}` : '');
  const candidates = r.shortName && conf.searchRegistries.length ? conf.searchRegistries.map((reg) => parseRemoteRef(`${reg}/${ref}`)) : [r];
  const failures: { where: string; err: NsboxError }[] = [];
  for (const q of candidates) {
    const names = [...new Set([...q.names, ...(q === r ? [] : r.names.slice(0, 1))])];
    let endpoints: Endpoint[];
    try {
      endpoints = endpointsFor(conf, `${q.registry}/${q.repository}`, { mirrors: true });
    } catch (err) {
      if (candidates.length === 1 || !(err instanceof NsboxError)) throw err;
      failures.push({ where: q.registry, err });
      continue;
    }
    for (const ep of endpoints) {
      const at = ep.name === `${q.registry}/${q.repository}` ? q : parseRemoteRef(`${ep.name}${suffix}`);
      try {
        return await pullFrom(ref, at, names, { ...opts, tlsVerify: opts.tlsVerify ?? (ep.insecure ? false : undefined) });
      } catch (err) {
        if (!(err instanceof NsboxError) || !FALL_THROUGH.has(err.code) || opts.signal?.aborted) throw err;
        failures.push({ where: ep.mirror ? `mirror ${at.registry}` : at.registry, err });
      }
    }
  }
  if (failures.length === 1) throw failures[0]!.err;
  const last = failures[failures.length - 1]!.err;
  throw new NsboxError(last.code, `pulling ${ref} failed everywhere it was tried: ${failures.map((f) => `${f.where}: ${f.err.message}`).join('; ')}`, last.hint ?? 'check the names in registries.conf');
}

async function pullFrom(ref: string, r: RemoteRef, names: string[], opts: PullOptions): Promise<PullResult> {
  const t0 = performance.now();
  const root = resolve(opts.root ?? defaultDataRoot());
  const want: Platform = opts.platform ? parsePlatform(opts.platform) : { os: 'linux', architecture: ociArch() };
  const emit = (p: PullProgress) => {
    try {
      opts.onProgress?.(p);
    } catch {
      // a progress callback never breaks a pull
    }
  };
  ensureImageDirs(root);
  await sweepStale(root);
  const client = new RegistryClient(r.apiHost, { tlsVerify: opts.tlsVerify, certDir: opts.certDir, credentials: opts.credentials ?? lookupCredentials(r.registry), signal: opts.signal });
  const scope = `repository:${r.repository}:pull`;
  const where = `${r.registry}/${r.repository}`;
  try {
    emit({ phase: 'resolving', message: `resolving ${ref}` });
    const fetchManifest = async (reference: string, what: string) => {
      const res = await client.request(`/v2/${r.repository}/manifests/${reference}`, { headers: { accept: MANIFEST_ACCEPT }, scope });
      if (res.status === 404) {
        await res.body?.cancel().catch(() => {});
        throw new NsboxError('IMAGE_NOT_FOUND', `${where} has no ${what}`, 'check the name and tag (`skopeo list-tags docker://…` lists them)');
      }
      if (!res.ok) {
        await res.body?.cancel().catch(() => {});
        throw new NsboxError('REGISTRY_ERROR', `${where}: fetching ${what} answered ${res.status}`, 'try again later, or check the registry');
      }
      const bytes = await readBounded(res, MAX_MANIFEST_BYTES, what);
      if (reference.startsWith('sha256:')) verifyDigest(bytes, reference, what);
      return { bytes, ...manifestKind(bytes, res.headers.get('content-type'), what) };
    };
    let m = await fetchManifest(r.reference, r.digest ? `manifest ${r.digest}` : `tag ${r.tag}`);
    let digest = r.digest ?? sha256Digest(m.bytes);
    if (m.kind === 'index') {
      const chosen = selectPlatform(m.doc, want, `the index of ${ref}`);
      m = await fetchManifest(chosen.digest, `the ${formatPlatform(want)} manifest ${chosen.digest}`);
      if (m.kind !== 'manifest') throw new NsboxError('BAD_MANIFEST', `the ${formatPlatform(want)} entry of ${ref} is another index`, 'nested indexes are not pulled');
      digest = chosen.digest;
    }
    const manifest = parseImageManifest(m.doc, `manifest ${digest}`, MAX_LAYERS);
    const id = digestHex(manifest.config.digest);

    // The config is the image id: a stored image needs nothing fetched but its names.
    const existing = readImageRecord(root, id);
    if (existing && existing.layers.length === manifest.layers.length && existing.layers.every((d) => existsSync(imagePaths.layerDiff(root, digestHex(d))))) {
      const image = await withImageLock(root, () => addNames(root, existing, names));
      manifest.layers.forEach((l, i) => emit({ phase: 'layer', layer: i + 1, layers: manifest.layers.length, digest: l.digest, state: 'present', message: `layer ${i + 1}/${manifest.layers.length} ${shortDigest(l.digest)}: already stored` }));
      const summary = `${ref}: image is up to date (${shortDigest(id)}, ${plural(manifest.layers.length, 'layer')}, ${formatSeconds(performance.now() - t0)})`;
      emit({ phase: 'done', message: summary });
      return { image, digest, layersFetched: 0, layersPresent: manifest.layers.length, bytesFetched: 0, seconds: (performance.now() - t0) / 1000, summary };
    }

    const configRes = await client.request(`/v2/${r.repository}/blobs/${manifest.config.digest}`, { scope });
    if (!configRes.ok) {
      await configRes.body?.cancel().catch(() => {});
      throw new NsboxError('REGISTRY_ERROR', `${where}: fetching the config ${manifest.config.digest} answered ${configRes.status}`, 'the registry is missing a blob of this image');
    }
    const configBytes = await readBounded(configRes, Math.max(manifest.config.size, 1), `the config ${manifest.config.digest}`);
    verifyDigest(configBytes, manifest.config.digest, 'the image config');
    let rawConfig: unknown;
    try {
      rawConfig = JSON.parse(configBytes.toString('utf8'));
    } catch {
      throw new NsboxError('BAD_MANIFEST', `the config of ${ref} is not valid JSON`, 'the image is broken');
    }
    const parsed = parseImageConfig(rawConfig, `the config of ${ref}`);
    if (parsed.diffIds.length !== manifest.layers.length)
      throw new NsboxError('BAD_MANIFEST', `the config of ${ref} lists ${parsed.diffIds.length} layers but its manifest ${manifest.layers.length}`, 'the image is broken');

    const plans: LayerPlan[] = manifest.layers.map((l, i) => ({ layer: i + 1, digest: l.digest, size: l.size, diffId: parsed.diffIds[i]!, compression: l.compression, mediaType: l.mediaType }));
    const total = plans.length;
    const todo: LayerPlan[] = [];
    const seen = new Set<string>();
    for (const p of plans) {
      if (seen.has(p.diffId)) continue;
      seen.add(p.diffId);
      if (existsSync(imagePaths.layerDiff(root, digestHex(p.diffId)))) {
        emit({ phase: 'layer', layer: p.layer, layers: total, digest: p.digest, state: 'present', message: `layer ${p.layer}/${total} ${shortDigest(p.digest)}: already stored` });
      } else todo.push(p);
    }

    const bytesFetched = todo.length ? await fetchLayers(root, client, r.repository, scope, todo, total, emit, opts.signal) : 0;

    const planned = [{ id, kind: 'registry' as const, names, diffIds: parsed.diffIds, configBytes }];
    const layerSize = (d: string) => readLayerMeta(root, d)?.size ?? 0;
    const [image] = await withImageLock(root, () => commit(root, root, [], new Map(), planned, layerSize));
    const ms = performance.now() - t0;
    const summary = `pulled ${names[0] ?? ref} (${shortDigest(id)}, ${plural(total, 'layer')}${todo.length < seen.size || todo.length < total ? `, ${total - todo.length} already stored` : ''}, ${formatSize(bytesFetched)} fetched, ${formatSeconds(ms)})`;
    emit({ phase: 'done', message: summary });
    return { image: image!, digest, layersFetched: todo.length, layersPresent: total - todo.length, bytesFetched, seconds: ms / 1000, summary };
  } finally {
    await client.close();
  }
}

/** Adds names to a stored image (moving them from any other image); under the lock. */
function addNames(root: string, image: ImageRecord, names: string[]): ImageRecord {
  const changes = new Map<string, ImageRecord | null>();
  for (const other of listImageRecords(root))
    if (other.id !== image.id && other.names.some((n) => names.includes(n))) changes.set(other.id, { ...other, names: other.names.filter((n) => !names.includes(n)) });
  const current = readImageRecord(root, image.id) ?? image;
  const merged = { ...current, names: [...new Set([...current.names, ...names])] };
  changes.set(image.id, merged);
  writeImageRecords(root, changes);
  return merged;
}

/**
 * Fetches the layers (PARALLEL_LAYERS at a time) into one extraction worker;
 * each verified layer is moved into the store as soon as the worker is done
 * with it. Returns the bytes fetched.
 */
async function fetchLayers(
  root: string,
  client: RegistryClient,
  repository: string,
  scope: string,
  todo: LayerPlan[],
  total: number,
  emit: (p: PullProgress) => void,
  signal?: AbortSignal,
): Promise<number> {
  const work = mkdtempSync(join(imagePaths.tmp(root), `${process.pid}-`));
  const maxBytes = layerSizeBound(root);
  let fetched = 0;
  try {
    const jobs: ExtractLayerJob[] = todo.map((p, index) => {
      mkdirSync(join(work, String(index)), 0o700);
      return { index, file: '', start: 0, length: p.size, compression: p.compression, dest: join(work, String(index), 'diff'), label: `layer ${p.layer}/${total} (${shortDigest(p.digest)})`, maxBytes };
    });
    // Blob digests verified here, as the bytes went by; only those layers may be stored.
    const verified = new Set<number>();
    const storing: Promise<void>[] = [];
    let chain: Promise<unknown> = Promise.resolve();
    const store = (result: LayerResult) => {
      const p = todo[result.index]!;
      if (!verified.has(result.index)) throw new NsboxError('IMAGE_WORKER', `${jobs[result.index]!.label} finished before its digest was checked`, 'pull again');
      if (result.diffId !== p.diffId)
        throw new NsboxError('DIGEST_MISMATCH', `${jobs[result.index]!.label} does not match its diff_id (expected ${p.diffId}, got ${result.diffId})`, 'the image is broken or was altered; nothing of it was stored');
      const task = (chain = chain.then(() =>
        withImageLock(root, () => {
          const dest = imagePaths.layer(root, digestHex(p.diffId));
          if (existsSync(dest)) return; // stored meanwhile by another pull or import
          const meta: LayerMeta = {
            diffId: p.diffId,
            size: result.size,
            entries: result.stats.entries,
            opaqueDirs: result.stats.opaqueDirs,
            whiteouts: result.stats.whiteouts,
            skippedDevices: result.stats.skippedDevices,
            createdAt: new Date().toISOString(),
          };
          writeJsonAtomic(join(work, String(result.index), 'layer.json'), meta);
          // Where the layer's blob is: a push to the same registry checks for it, or mounts it, instead of uploading.
          const source: BlobSource = { registry: client.host, repository, digest: p.digest, mediaType: p.mediaType, size: p.size };
          writeJsonAtomic(join(work, String(result.index), BLOB_SOURCES), [source]);
          renameSync(join(work, String(result.index)), dest);
        }),
      )).then(() => emit({ phase: 'layer', layer: p.layer, layers: total, digest: p.digest, state: 'stored', bytes: p.size, total: p.size, message: `layer ${p.layer}/${total} ${shortDigest(p.digest)}: ${formatSize(p.size)} stored` }));
      storing.push(task as Promise<void>);
    };

    // Layers of one worker, fetched `lanes` at a time.
    const feedFor = (indices: number[], lanes: number) => async (write: FrameWriter) => {
      let next = 0;
      const one = async (index: number) => {
        const p = todo[index]!;
        const res = await client.request(`/v2/${repository}/blobs/${p.digest}`, { scope });
        if (!res.ok || !res.body) {
          await res.body?.cancel().catch(() => {});
          throw new NsboxError('REGISTRY_ERROR', `fetching ${jobs[index]!.label} answered ${res.status}`, 'the registry is missing a blob of this image');
        }
        const hash = createHash('sha256');
        let bytes = 0;
        let last = 0;
        const body = (async function* () {
          try {
            yield* res.body as AsyncIterable<Uint8Array>;
          } catch (err) {
            if (err instanceof NsboxError) throw err;
            if (signal?.aborted) throw new NsboxError('INTERRUPTED', `${jobs[index]!.label} was interrupted`, 'pull again: verified layers are kept, only what is missing is fetched');
            throw new NsboxError('INCOMPLETE', `${jobs[index]!.label}: the transfer failed (${(err as Error).message})`, 'pull again: verified layers are kept, only what is missing is fetched');
          }
        })();
        for await (const c of body) {
          const chunk = Buffer.from(c.buffer, c.byteOffset, c.byteLength);
          bytes += chunk.length;
          if (bytes > p.size) {
            await res.body.cancel().catch(() => {});
            throw new NsboxError('DIGEST_MISMATCH', `${jobs[index]!.label} is longer than the ${p.size} bytes its manifest says`, 'the registry is hostile or broken; nothing of the layer was stored');
          }
          hash.update(chunk);
          await write(index, chunk);
          const now = Date.now();
          if (now - last > 200) {
            last = now;
            emit({ phase: 'layer', layer: p.layer, layers: total, digest: p.digest, state: 'fetching', bytes, total: p.size, message: `layer ${p.layer}/${total} ${shortDigest(p.digest)}: ${formatSize(bytes)} of ${formatSize(p.size)}` });
          }
        }
        if (bytes !== p.size)
          throw new NsboxError('INCOMPLETE', `${jobs[index]!.label} ended after ${bytes} of its ${p.size} bytes`, 'the connection was cut: pull again (verified layers are kept)');
        const actual = `sha256:${hash.digest('hex')}`;
        if (actual !== p.digest)
          throw new NsboxError('DIGEST_MISMATCH', `${jobs[index]!.label} does not match its digest (got ${actual})`, 'the registry or something between is corrupting data; nothing of the layer was stored');
        verified.add(index);
        fetched += bytes;
        await write(index, Buffer.alloc(0));
      };
      const running = Array.from({ length: Math.min(lanes, indices.length) }, async () => {
        while (next < indices.length) await one(indices[next++]!);
      });
      await Promise.all(running);
    };

    // Decompressing and extracting is the work: one worker per core (at most two), the largest layers spread first.
    const workers = Math.max(1, Math.min(2, availableParallelism(), todo.length));
    const groups: number[][] = Array.from({ length: workers }, () => []);
    const load = new Array<number>(workers).fill(0);
    for (const i of todo.map((_, i) => i).sort((a, b) => todo[b]!.size - todo[a]!.size)) {
      const g = load.indexOf(Math.min(...load));
      groups[g]!.push(i);
      load[g]! += todo[i]!.size;
    }
    let storeError: unknown = null;
    const lanes = Math.ceil(PARALLEL_LAYERS / workers);
    const results = await Promise.allSettled(
      groups.map((g) =>
        runWorker(
          { mode: 'extract-stream', layers: g.map((i) => jobs[i]!) },
          (msg) => {
            if (msg.t !== 'layer') return;
            try {
              store(msg.result);
            } catch (err) {
              storeError ??= err;
            }
          },
          feedFor(g, lanes),
        ),
      ),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.allSettled(storing);
      throw failed.reason;
    }
    await Promise.all(storing);
    if (storeError) throw storeError;
    return fetched;
  } finally {
    await removeTree(work);
  }
}
