// What the store records about an image and about each extracted layer.

/** The parts of an image config (OCI / Docker `config`) a container uses. */
export interface ImageConfig {
  entrypoint?: string[];
  cmd?: string[];
  /** "KEY=value" strings, in the image's order. */
  env?: string[];
  workingDir?: string;
  /** "uid", "uid:gid" or a user name, as the image says. */
  user?: string;
  /** "80/tcp" and the like. */
  exposedPorts?: string[];
  labels?: Record<string, string>;
  stopSignal?: string;
  /** The image's Healthcheck: Test as docker writes it, times in ms. */
  healthcheck?: { test: string[]; intervalMs?: number; timeoutMs?: number; startPeriodMs?: number; retries?: number };
}

export type ImageSourceKind = 'rootfs' | 'docker-save' | 'oci' | 'registry';

export interface ImageRecord {
  /** sha256 (hex) of the image's config JSON, as Docker and OCI define an image id. */
  id: string;
  /** "NAME:TAG" names pointing at this image; may be empty. */
  names: string[];
  /** Layer diff_ids ("sha256:<hex>"), bottom layer first. */
  layers: string[];
  config: ImageConfig;
  /** When this image was imported (ISO 8601). */
  createdAt: string;
  /** Bytes of the uncompressed layers. */
  size: number;
  source: ImageSourceKind;
  architecture?: string;
  os?: string;
  /** The image's own creation time from its config, when it has one. */
  created?: string;
}

/** images/layers/<hex>/layer.json */
export interface LayerMeta {
  diffId: string;
  /** Bytes of the uncompressed layer tar. */
  size: number;
  entries: number;
  /** Directories (relative to the layer root, "" for the root) marked opaque. */
  opaqueDirs: string[];
  whiteouts: number;
  /** Device nodes and FIFOs that were not created (bound from the host at run time). */
  skippedDevices: number;
  createdAt: string;
}
