// Runs inside a user namespace as its root, with this user's full id mapping
// (spawnInUserns), so that a file of uid 33 in a layer is owned by 33 as
// containers see it. Reads a WorkerJob on stdin; reports on stdout, one JSON
// object per line. Extraction streams: file -> (gunzip) -> sha256 -> tar
// parser -> LayerWriter; nothing is buffered whole.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, constants, createReadStream, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, gunzipSync, gzipSync } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { NsboxError } from '../errors.js';
import { lsetxattr, mknodWhiteout } from '../native/ffi.js';
import { LayerWriter } from './layer-writer.js';
import { materializeLayers } from './materialize.js';
import { createZstdDecoder } from './zstd.js';
import { TarSplitRecorder, type Segment } from './tar-split.js';
import { entryComponents } from './layer-writer.js';
import type { ExtractLayerJob, LayerResult, WorkerJob, WorkerMessage } from './worker-protocol.js';

const PROGRESS_INTERVAL_MS = 200;
const TAR_SPLIT_FILE = 'tar-split.json.gz';
const CHUNK = 1 << 20;
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** sha256 of what extraction parses (and of the bytes as stored, when compressed). */
class LayerHash {
  private readonly hashes = new Map<string, Hash>();

  update(key: 'tar' | 'raw', chunk: Buffer): void {
    let h = this.hashes.get(key);
    if (!h) this.hashes.set(key, (h = createHash('sha256')));
    h.update(chunk);
  }

  digest(key: 'tar' | 'raw'): string | undefined {
    return this.hashes.get(key)?.digest('hex');
  }
}

function send(msg: WorkerMessage): void {
  try {
    writeSync(1, JSON.stringify(msg) + '\n');
  } catch {
    process.exit(2); // the caller is gone
  }
}

function tarError(job: ExtractLayerJob, err: Error): NsboxError {
  if (err instanceof NsboxError) return new NsboxError(err.code, `${job.label}: ${err.message}`, err.hint);
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (code.startsWith('Z_') || /incorrect header check|unexpected end of file|invalid (block type|distance|stored block)/i.test(err.message))
    return new NsboxError('BAD_ARCHIVE', `${job.label}: corrupt gzip data (${err.message})`, 'the file is damaged or truncated; copy it again');
  const tarCode = (err as { tarCode?: string }).tarCode;
  if (tarCode) return new NsboxError('BAD_ARCHIVE', `${job.label}: not a valid tar archive (${err.message.replace(/^TAR_[A-Z_]+: /, '')})`, 'the file is damaged or not a tar');
  if (code) return new NsboxError('EXTRACT', `${job.label}: ${err.message}`, code === 'ENOSPC' ? 'the disk is full' : undefined);
  return new NsboxError('EXTRACT', `${job.label}: ${err.message}`);
}

/** The decoder for a layer's compression; none for plain tar. */
function decoder(compression: ExtractLayerJob['compression']) {
  if (compression === 'gzip') return createGunzip({ chunkSize: 256 * 1024 });
  if (compression === 'zstd') return createZstdDecoder();
  return null;
}

/** Extracts one layer from a file range, or from `input` (its bytes as they arrive). */
async function extractLayer(job: ExtractLayerJob, input?: Readable): Promise<LayerResult> {
  if (!input && job.length === 0) throw new NsboxError('BAD_ARCHIVE', `${job.label}: the layer is empty (0 bytes)`, 'the archive is damaged');
  mkdirSync(job.dest, 0o755);
  const writer = new LayerWriter(job.dest, { mknodWhiteout, lsetxattr });
  const parser = new Parser({ strict: true, zstd: false, brotli: false });
  let parseError: Error | null = null;
  let sawEof = false;
  // Sizes are checked as headers announce them, before any data is written.
  let declared = 0;
  parser.on('entry', (e: ReadEntry) => {
    declared += e.size ?? 0;
    if (declared > job.maxBytes && !writer.failure) {
      const limit = `${(job.maxBytes / 2 ** 20).toFixed(0)} MiB`;
      writer.failure = new NsboxError('TOO_LARGE', `expands beyond ${limit} (at ${JSON.stringify(e.path)}), more than the store can take`, 'free disk space, or raise the bound with NSBOX_IMAGE_MAX_SIZE (e.g. 50G)');
    }
    writer.entry(e);
  });
  parser.on('ignoredEntry', (e: ReadEntry) => writer.ignored(e));
  parser.on('eof', () => (sawEof = true));
  parser.on('error', (err: Error) => (parseError ??= err));

  const hash = new LayerHash();
  let raw = 0;
  let bytes = 0;
  let lastProgress = 0;
  const progress = (force = false) => {
    const now = Date.now();
    if (!force && now - lastProgress < PROGRESS_INTERVAL_MS) return;
    lastProgress = now;
    send({ t: 'progress', index: job.index, raw, bytes, entries: writer.stats.entries });
  };
  // node-tar calls a tar of only end blocks "unrecognized"; Docker's empty layers are exactly that.
  const emptyTar = (e: Error) => sawEof && writer.stats.entries === 0 && (e as { tarCode?: string }).tarCode === 'TAR_BAD_ARCHIVE';
  const failure = (): Error | null => writer.failure ?? (parseError && !emptyTar(parseError) ? parseError : null);

  const split = new TarSplitRecorder();
  const feed = async (chunk: Buffer): Promise<void> => {
    hash.update('tar', chunk);
    split.push(chunk);
    bytes += chunk.length;
    const ok = parser.write(chunk);
    if (failure()) throw failure();
    progress();
    if (!ok) await new Promise((r) => parser.once('drain', r));
  };

  try {
    if (input || job.compression !== 'none') {
      const source = input ?? createReadStream(job.file, { start: job.start, end: job.start + job.length - 1, highWaterMark: CHUNK });
      source.on('data', (c: Buffer | string) => {
        // A streamed blob's digest is checked by the process that fetched it.
        if (!input) hash.update('raw', c as Buffer);
        raw += c.length;
      });
      const sink = new Writable({
        highWaterMark: CHUNK,
        write: (chunk: Buffer, _enc, cb) => void feed(chunk).then(() => cb(), cb),
      });
      const decode = decoder(job.compression);
      await (decode ? pipeline(source, decode, sink) : pipeline(source, sink));
    } else {
      // Plain tar: read synchronously in large chunks (this process does
      // nothing else), and one hash serves as both digests.
      const fd = openSync(job.file, 'r');
      try {
        while (raw < job.length) {
          // a fresh buffer each time: the parser keeps references to what it buffers
          const buf = Buffer.allocUnsafe(Math.min(CHUNK, job.length - raw));
          const n = readSync(fd, buf, 0, buf.length, job.start + raw);
          if (n === 0) throw new NsboxError('BAD_ARCHIVE', `${job.label}: the file ended early`, 'the archive is truncated; copy it again');
          raw += n;
          await feed(n === buf.length ? buf : buf.subarray(0, n));
        }
      } finally {
        closeSync(fd);
      }
    }
    parser.end();
  } catch (err) {
    throw tarError(job, err as Error);
  }
  const err = failure();
  if (err) {
    throw tarError(job, err);
  }
  let stats;
  try {
    if (!sawEof && writer.stats.entries === 0) throw Object.assign(new Error('no tar entries found'), { tarCode: 'TAR_BAD_ARCHIVE' });
    // Every tar ends with zero blocks; one cut inside a header block looks
    // complete to the parser, so the missing end is what gives it away.
    if (!sawEof) throw new NsboxError('BAD_ARCHIVE', 'the archive ends without its end-of-archive blocks', 'the file is truncated; copy it again');
    stats = writer.finish();
  } catch (e) {
    throw tarError(job, e as Error);
  }
  progress(true);
  // Beside diff/: what push and save need to rebuild this exact tar (tar-split.ts).
  writeFileSync(join(dirname(job.dest), TAR_SPLIT_FILE), gzipSync(JSON.stringify(split.finish())), { mode: 0o600 });
  const diffId = `sha256:${hash.digest('tar') ?? EMPTY_SHA256}`;
  const rawHex = hash.digest('raw');
  return { index: job.index, diffId, rawDigest: rawHex ? `sha256:${rawHex}` : diffId, size: bytes, rawSize: raw, stats };
}

/** Opens a file of a layer for reading: no parent may be a symlink, nor the file itself. */
function openInLayer(diff: string, path: string): number {
  const parts = entryComponents(path);
  let at = diff;
  for (const p of parts.slice(0, -1)) {
    at = join(at, p);
    if (!lstatSync(at).isDirectory()) throw new NsboxError('LAYER_CHANGED', `${path}: a parent is not a directory`, 'remove the image and pull or import it again');
  }
  return openSync(join(diff, ...parts), constants.O_RDONLY | constants.O_NOFOLLOW);
}

/** Rebuilds a layer's tar into `out` from its tar-split and files; returns its sha256 and size. */
function exportLayer(layerDir: string, out: string): { digest: string; size: number } {
  const segments = JSON.parse(gunzipSync(readFileSync(join(layerDir, TAR_SPLIT_FILE))).toString('utf8')) as Segment[];
  const hash = createHash('sha256');
  const outFd = openSync(out, 'wx', 0o600);
  let size = 0;
  const emit = (b: Buffer) => {
    hash.update(b);
    size += b.length;
    let off = 0;
    while (off < b.length) off += writeSync(outFd, b, off, b.length - off);
  };
  try {
    for (const s of segments) {
      if ('r' in s) {
        emit(Buffer.from(s.r, 'base64'));
        continue;
      }
      let fd: number;
      try {
        fd = openInLayer(join(layerDir, 'diff'), s.f);
      } catch (err) {
        if (err instanceof NsboxError) throw err;
        throw new NsboxError('LAYER_CHANGED', `the layer's file ${JSON.stringify(s.f)} is missing (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'remove the image and pull or import it again');
      }
      try {
        if (fstatSync(fd).size !== s.n) throw new NsboxError('LAYER_CHANGED', `the layer's file ${JSON.stringify(s.f)} changed size`, 'remove the image and pull or import it again');
        let left = s.n;
        while (left > 0) {
          const buf = Buffer.allocUnsafe(Math.min(CHUNK, left));
          const n = readSync(fd, buf, 0, buf.length, s.n - left);
          if (n === 0) throw new NsboxError('LAYER_CHANGED', `the layer's file ${JSON.stringify(s.f)} ended early`, 'remove the image and pull or import it again');
          emit(n === buf.length ? buf : buf.subarray(0, n));
          left -= n;
        }
      } finally {
        closeSync(fd);
      }
    }
  } finally {
    closeSync(outFd);
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/** Reads stdin: the job (its first line), then hands the rest to `rest`. */
async function readJob(): Promise<{ job: WorkerJob; rest: AsyncIterator<Buffer>; head: Buffer }> {
  const it = (process.stdin as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let buf = Buffer.alloc(0);
  for (;;) {
    const nl = buf.indexOf(0x0a);
    if (nl >= 0) return { job: JSON.parse(buf.subarray(0, nl).toString('utf8')) as WorkerJob, rest: it, head: buf.subarray(nl + 1) };
    const next = await it.next();
    if (next.done) return { job: JSON.parse(buf.toString('utf8')) as WorkerJob, rest: it, head: Buffer.alloc(0) };
    buf = Buffer.concat([buf, next.value]);
  }
}

/**
 * Splits the frames on stdin into one stream per layer and extracts the
 * layers as their bytes arrive, all at once. A layer whose frames stop
 * before its end frame fails: nothing of it is reported as extracted.
 */
async function extractStreams(layers: ExtractLayerJob[], rest: AsyncIterator<Buffer>, head: Buffer): Promise<void> {
  const inputs = new Map(layers.map((l) => [l.index, new PassThrough({ highWaterMark: CHUNK })]));
  const done = layers.map((l) =>
    extractLayer(l, inputs.get(l.index)).then((result) => send({ t: 'layer', result })),
  );
  const settled = Promise.all(done);
  settled.catch(() => {}); // reported below
  let buf = head;
  const take = async (n: number): Promise<Buffer | null> => {
    while (buf.length < n) {
      const next = await rest.next();
      if (next.done) return null;
      buf = buf.length ? Buffer.concat([buf, next.value]) : next.value;
    }
    const out = buf.subarray(0, n);
    buf = buf.subarray(n);
    return out;
  };
  const failed = new Promise<never>((_, reject) => settled.catch(reject));
  const pump = async () => {
    for (;;) {
      const header = await take(8);
      if (!header) break;
      const index = header.readUInt32LE(0);
      const length = header.readUInt32LE(4);
      const input = inputs.get(index);
      if (!input) throw new NsboxError('IMAGE_WORKER', `a frame for unknown layer ${index}`);
      if (length === 0) {
        input.end();
        inputs.delete(index);
        continue;
      }
      const data = await take(length);
      if (!data) break;
      if (!input.write(Buffer.from(data))) await new Promise((r) => input.once('drain', r));
    }
    for (const [, input] of inputs) input.destroy(new NsboxError('INCOMPLETE', 'the layer ended before all its bytes arrived', 'pull again: what was verified is kept'));
  };
  await Promise.race([pump(), failed]);
  await settled;
}

async function main(): Promise<void> {
  // Leave when the process that started us is gone (it cleans up after us).
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && process.exit(2), 500).unref();
  const { job, rest, head } = await readJob();
  if (job.mode === 'extract') {
    for (const layer of job.layers) send({ t: 'layer', result: await extractLayer(layer) });
  } else if (job.mode === 'extract-stream') {
    await extractStreams(job.layers, rest, head);
  } else if (job.mode === 'export') {
    job.layers.forEach((l, index) => send({ t: 'exported', index, ...exportLayer(l.dir, l.out) }));
  } else if (job.mode === 'materialize') {
    send({ t: 'materialized', files: materializeLayers(job.layers, job.dest).files });
  } else {
    throw new Error(`unknown job ${JSON.stringify((job as { mode: unknown }).mode)}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    const e = err instanceof NsboxError ? err : new NsboxError('IMAGE_WORKER', err instanceof Error ? err.message : String(err));
    send({ t: 'error', code: e.code, message: e.message, hint: e.hint });
    process.exit(1);
  },
);
