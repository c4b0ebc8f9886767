// The messages between the image code in the CLI/library process and
// extract-worker.js, which runs as root of a user namespace (spawnInUserns).
// The job goes in on stdin as one JSON document; the worker answers with one
// JSON object per line on stdout.
import type { LayerStats } from './layer-writer.js';
import type { MaterializeLayer } from './materialize.js';

export interface ExtractLayerJob {
  /** Index in the job, echoed in messages. */
  index: number;
  file: string;
  start: number;
  length: number;
  compression: 'none' | 'gzip' | 'zstd';
  /** The directory to create and fill (must not exist). */
  dest: string;
  /** For messages: "layer 2/3" and the like. */
  label: string;
  /** The most its entries may declare in all (import.ts: layerSizeBound). */
  maxBytes: number;
}

/**
 * The job goes in as one JSON line. In 'extract-stream' the layers' bytes
 * follow on stdin as frames: a u32 layer index, a u32 length, the bytes; a
 * frame of length 0 ends that layer (`file`, `start` are unused, `length` is
 * the size the manifest promises, for progress).
 */
export type WorkerJob =
  | { mode: 'extract'; layers: ExtractLayerJob[] }
  | { mode: 'extract-stream'; layers: ExtractLayerJob[] }
  /** Rebuilds layers' tars (images/layers/<hex>/ -> out) from their tar-split. */
  | { mode: 'export'; layers: { dir: string; out: string }[] }
  | { mode: 'materialize'; layers: MaterializeLayer[]; dest: string };

export interface LayerResult {
  index: number;
  /** sha256 of the uncompressed tar: the layer's diff_id. */
  diffId: string;
  /** sha256 of the bytes as stored (the blob digest in OCI layouts). */
  rawDigest: string;
  size: number;
  rawSize: number;
  stats: LayerStats;
}

export type WorkerMessage =
  | { t: 'progress'; index: number; raw: number; bytes: number; entries: number }
  | { t: 'layer'; result: LayerResult }
  | { t: 'materialized'; files: number }
  | { t: 'exported'; index: number; digest: string; size: number }
  | { t: 'error'; code: string; message: string; hint?: string };
