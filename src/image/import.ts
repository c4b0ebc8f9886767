// `nsbox image import`: reads a rootfs tarball, a docker save archive or an
// OCI layout, extracts the layers the store lacks (in a user namespace,
// streaming, hashing as it goes), then commits them and the image records
// under the store's lock. A failed import leaves nothing behind: layers are
// extracted under images/tmp/<pid>-*/ and only renamed into images/layers/
// once everything is verified; the scratch directory is always removed.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NsboxError } from '../errors.js';
import { writeJsonAtomic } from '../state/atomic.js';
import { defaultDataRoot } from '../state/paths.js';
import { parseChanges } from './changes.js';
import { parseImageConfig, rootfsConfigBytes } from './config.js';
import { formatSeconds, formatSize, plural, shortDigest } from './format.js';
import type { LayerSource } from './layer-source.js';
import { digestHex, ensureImageDirs, imagePaths } from './paths.js';
import type { ImageRecord, ImageSourceKind, LayerMeta } from './record.js';
import { normalizeImageName } from './reference.js';
import { openImageSource } from './source.js';
import { listImageRecords, readLayerMeta } from './store.js';
import { withImageLock, writeImageRecords } from './store-write.js';
import { removeTree, runWorker } from './worker-client.js';
import type { ExtractLayerJob, LayerResult } from './worker-protocol.js';


/** More layers than this is no real image (Docker stops at 125) and would not mount as one overlay. */
export const MAX_LAYERS = 128;
const DISK_RESERVE = 1024 ** 3;

/**
 * The most a layer may expand to: NSBOX_IMAGE_MAX_SIZE (bytes, or with a
 * K/M/G suffix), else the store's free space minus 1 GiB, so that a tar (or a
 * gzip bomb) announcing more than fits is refused at its header, before it
 * fills the disk.
 */
export function layerSizeBound(root: string, env = process.env): number {
  const set = env.NSBOX_IMAGE_MAX_SIZE;
  if (set) {
    const m = /^(\d+)([KMG]?)i?B?$/i.exec(set.trim());
    if (!m) throw new NsboxError('INVALID_ARGUMENT', `NSBOX_IMAGE_MAX_SIZE=${set} is not a size`, 'give bytes, or a number with K, M or G, e.g. 20G');
    return Number(m[1]) * 1024 ** ' KMG'.indexOf((m[2] || ' ').toUpperCase());
  }
  try {
    const fs = statfsSync(imagePaths.tmp(root));
    return Math.max(0, fs.bavail * fs.bsize - DISK_RESERVE);
  } catch {
    return Number.MAX_SAFE_INTEGER;
  }
}

export interface ImportProgress {
  phase: 'reading' | 'extracting' | 'done';
  /** 1-based number of the layer being extracted, and how many are. */
  layer?: number;
  layers?: number;
  /** Bytes of this layer read so far (as stored, compressed or not), and its size. */
  bytes?: number;
  total?: number;
  entries?: number;
  /** One human line describing the step. */
  message: string;
}

export interface ImportOptions {
  /** Data root (default $XDG_DATA_HOME/nsbox, or NSBOX_ROOT). */
  root?: string;
  /** NAME[:TAG] for the image (default: the archive's names, else none). */
  name?: string;
  /** Dockerfile instructions (CMD, ENTRYPOINT, ENV, ...) for the config of a rootfs tarball's image. */
  changes?: string[];
  onProgress?: (p: ImportProgress) => void;
}

export interface ImportResult {
  /** The imported images (docker save archives may hold several). */
  images: ImageRecord[];
  layersExtracted: number;
  layersReused: number;
  seconds: number;
  /** "imported nginx:latest (sha256:abcd…, 3 layers, 181 MB, 12.3 s)" */
  summary: string;
  warnings: string[];
}

export interface PlannedImage {
  id: string;
  kind: ImageSourceKind;
  names: string[];
  diffIds: string[];
  configBytes: Buffer;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes scratch directories of imports and removals whose process died, and the records they were writing. */
export async function sweepStale(root: string): Promise<void> {
  for (const n of readdirSync(imagePaths.tmp(root))) {
    const m = /^(?:rm-)?(\d+)-/.exec(n);
    if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;
    await removeTree(join(imagePaths.tmp(root), n)).catch(() => {});
  }
  // writeJsonAtomic's NAME.tmp-PID, which a process killed between its write and its rename leaves.
  for (const dir of [imagePaths.dir(root), imagePaths.configs(root)]) {
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      continue; // not made yet
    }
    for (const n of names) {
      const m = /\.tmp-(\d+)$/.exec(n);
      if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;
      rmSync(join(dir, n), { force: true });
    }
  }
}

/** Imports the image(s) in `file`; resolves to the first (or only) one. */
export async function importImage(file: string, opts: ImportOptions = {}): Promise<ImageRecord> {
  return (await importImages(file, opts)).images[0]!;
}

export async function importImages(file: string, opts: ImportOptions = {}): Promise<ImportResult> {
  const t0 = performance.now();
  const root = resolve(opts.root ?? defaultDataRoot());
  const name = opts.name !== undefined ? normalizeImageName(opts.name) : undefined;
  const path = resolve(file);
  const changes = opts.changes?.length ? parseChanges(opts.changes) : undefined;
  const emit = (p: ImportProgress) => {
    try {
      opts.onProgress?.(p);
    } catch {
      // a progress callback never breaks an import
    }
  };
  ensureImageDirs(root);
  await sweepStale(root);
  const work = mkdtempSync(join(imagePaths.tmp(root), `${process.pid}-`));
  try {
    emit({ phase: 'reading', message: `reading ${file}` });
    const source = await openImageSource(path, work);
    for (const img of source.images) {
      if (img.layers.length > MAX_LAYERS)
        throw new NsboxError('TOO_MANY_LAYERS', `${file}: an image has ${img.layers.length} layers; nsbox takes at most ${MAX_LAYERS}`, 'squash the image (Docker itself stops at 125 layers)');
    }
    const maxLayerBytes = layerSizeBound(root);
    if (changes && source.images.some((img) => img.configBytes))
      throw new NsboxError('INVALID_CHANGE', `${file} is an image archive with a config of its own: --change applies to a rootfs tarball`, 'import it without --change, and set the command at run time');
    if (name && source.images.length > 1)
      throw new NsboxError('INVALID_ARGUMENT', `${file} holds ${source.images.length} images, and --name can name only one`, 'import it without --name: the archive names its images');

    // Plan: one job per layer the store lacks; layers known by diff_id and present are reused.
    const jobs: ExtractLayerJob[] = [];
    const jobOf = new Map<LayerSource, number>();
    const jobByDiffId = new Map<string, number>();
    const reused = new Set<string>();
    for (const img of source.images) {
      for (const l of img.layers) {
        if (l.expectedDiffId) {
          const known = jobByDiffId.get(l.expectedDiffId);
          if (known !== undefined) {
            jobOf.set(l, known);
            continue;
          }
          if (existsSync(imagePaths.layerDiff(root, digestHex(l.expectedDiffId)))) {
            reused.add(l.expectedDiffId);
            continue;
          }
        }
        const index = jobs.length;
        mkdirSync(join(work, String(index)), 0o700);
        jobs.push({ index, file: l.range.file, start: l.range.start, length: l.range.length, compression: l.compression, dest: join(work, String(index), 'diff'), label: l.label, maxBytes: maxLayerBytes });
        jobOf.set(l, index);
        if (l.expectedDiffId) jobByDiffId.set(l.expectedDiffId, index);
      }
    }

    const results = new Map<number, LayerResult>();
    if (jobs.length) {
      await runWorker({ mode: 'extract', layers: jobs }, (m) => {
        if (m.t === 'layer') results.set(m.result.index, m.result);
        if (m.t !== 'progress') return;
        const total = jobs[m.index]?.length ?? 0;
        emit({
          phase: 'extracting',
          layer: m.index + 1,
          layers: jobs.length,
          bytes: m.raw,
          total,
          entries: m.entries,
          message: `extracting layer ${m.index + 1}/${jobs.length}: ${formatSize(m.raw)} of ${formatSize(total)}, ${plural(m.entries, 'entry', 'entries')}`,
        });
      });
    }
    for (const [l, index] of jobOf) {
      const r = results.get(index);
      if (!r) throw new NsboxError('IMAGE_WORKER', `${l.label} was not extracted`, 'run again with --debug');
      if (l.expectedDiffId && r.diffId !== l.expectedDiffId)
        throw new NsboxError('DIGEST_MISMATCH', `${l.label} does not match its diff_id (expected ${l.expectedDiffId}, got ${r.diffId})`, 'the archive is damaged or was altered');
      if (l.expectedDigest && r.rawDigest !== l.expectedDigest)
        throw new NsboxError('DIGEST_MISMATCH', `${l.label} does not match its digest (got ${r.rawDigest})`, 'the archive is damaged or was altered');
    }

    const planned: PlannedImage[] = source.images.map((img) => {
      const diffIds = img.layers.map((l) => l.expectedDiffId ?? results.get(jobOf.get(l)!)!.diffId);
      const configBytes = img.configBytes ?? rootfsConfigBytes(diffIds[0]!, changes);
      return { id: sha256(configBytes), kind: img.kind, names: name ? [name] : img.names, diffIds, configBytes };
    });
    const layerSize = (diffId: string): number => {
      for (const r of results.values()) if (r.diffId === diffId) return r.size;
      return readLayerMeta(root, diffId)?.size ?? 0;
    };

    const records = await withImageLock(root, () => commit(root, work, jobs, results, planned, layerSize));

    const ms = performance.now() - t0;
    const warnings: string[] = [];
    const stats = [...results.values()].map((r) => r.stats);
    const ownersLost = stats.reduce((n, s) => n + s.ownersNotKept, 0);
    if (ownersLost)
      warnings.push(`${plural(ownersLost, 'file')} kept uid/gid 0: their owners are outside this user's id mapping (give the user a range in /etc/subuid and /etc/subgid; run \`nsbox check\`)`);
    const devices = stats.reduce((n, s) => n + s.skippedDevices, 0);
    const allLayers = new Set(planned.flatMap((p) => p.diffIds));
    const size = [...allLayers].reduce((n, d) => n + layerSize(d), 0);
    const nameOf = (r: ImageRecord, i: number) => planned[i]!.names[0] ?? r.names[0];
    const what = records.length === 1 ? (nameOf(records[0]!, 0) ?? 'an unnamed image') : records.map((r, i) => nameOf(r, i) ?? shortDigest(r.id)).join(', ');
    const details = [
      records.length === 1 ? shortDigest(records[0]!.id) : plural(records.length, 'image'),
      plural(allLayers.size, 'layer') + (reused.size ? ` (${reused.size} already stored)` : ''),
      formatSize(size),
      formatSeconds(ms),
      ...(devices ? [`${plural(devices, 'device node')} skipped`] : []),
    ];
    const summary = `imported ${what} (${details.join(', ')})`;
    emit({ phase: 'done', message: summary });
    return { images: records, layersExtracted: jobs.length, layersReused: reused.size, seconds: ms / 1000, summary, warnings };
  } finally {
    await removeTree(work);
  }
}

/** Under the lock: moves new layers into place, then writes the records and names. */
export function commit(
  root: string,
  work: string,
  jobs: ExtractLayerJob[],
  results: Map<number, LayerResult>,
  planned: PlannedImage[],
  layerSize: (diffId: string) => number,
): ImageRecord[] {
  const moved: string[] = [];
  try {
    for (const job of jobs) {
      const r = results.get(job.index)!;
      const dest = imagePaths.layer(root, digestHex(r.diffId));
      if (existsSync(dest)) continue; // stored meanwhile by another import, or twice in this one
      const meta: LayerMeta = {
        diffId: r.diffId,
        size: r.size,
        entries: r.stats.entries,
        opaqueDirs: r.stats.opaqueDirs,
        whiteouts: r.stats.whiteouts,
        skippedDevices: r.stats.skippedDevices,
        createdAt: new Date().toISOString(),
      };
      writeJsonAtomic(join(work, String(job.index), 'layer.json'), meta);
      renameSync(join(work, String(job.index)), dest);
      moved.push(dest);
    }
    for (const p of planned)
      for (const d of p.diffIds)
        if (!existsSync(imagePaths.layerDiff(root, digestHex(d))))
          throw new NsboxError('IMAGE_RACE', `layer ${d} was removed while this import ran`, 'run the import again');

    for (const p of planned) {
      const file = imagePaths.config(root, p.id);
      if (existsSync(file)) continue;
      writeFileSync(`${file}.tmp-${process.pid}`, p.configBytes, { mode: 0o600 });
      renameSync(`${file}.tmp-${process.pid}`, file);
    }
    const all = new Map(listImageRecords(root).map((r) => [r.id, r]));
    const changes = new Map<string, ImageRecord | null>();
    const now = new Date().toISOString();
    const out: ImageRecord[] = [];
    for (const p of planned) {
      // A name points at one image: it moves here from wherever it was.
      for (const other of all.values()) {
        if (other.id === p.id || !other.names.some((n) => p.names.includes(n))) continue;
        const updated = { ...other, names: other.names.filter((n) => !p.names.includes(n)) };
        all.set(other.id, updated);
        changes.set(other.id, updated);
      }
      const parsed = parseImageConfig(JSON.parse(p.configBytes.toString('utf8')), 'config');
      const existing = all.get(p.id);
      const record: ImageRecord = {
        id: p.id,
        names: [...new Set([...(existing?.names ?? []), ...p.names])],
        layers: p.diffIds,
        config: parsed.config,
        createdAt: existing?.createdAt ?? now,
        size: p.diffIds.reduce((n, d) => n + layerSize(d), 0),
        source: existing?.source ?? p.kind,
        ...(parsed.architecture ? { architecture: parsed.architecture } : {}),
        ...(parsed.os ? { os: parsed.os } : {}),
        ...(parsed.created ? { created: parsed.created } : {}),
      };
      all.set(p.id, record);
      changes.set(p.id, record);
      out.push(record);
    }
    writeImageRecords(root, changes);
    return out;
  } catch (err) {
    moved.forEach((dest, i) => {
      try {
        renameSync(dest, join(work, `undo-${i}`));
      } catch {
        // left for `nsbox image rm` of an image that uses it, or a later import
      }
    });
    throw err;
  }
}
