// OCI image layouts (a directory or a tar of one): oci-layout, index.json and
// blobs/sha256/<hex>. index.json may point at image indexes (multi-platform);
// we take the manifests for linux on this machine's architecture. Every blob
// read is checked against its digest (layers after extraction).
import { createHash } from 'node:crypto';
import { NsboxError } from '../errors.js';
import type { ArchiveView } from './archive.js';
import { ociArch, parseImageConfig, parseJson } from './config.js';
import { layerCompression, type ImageSource } from './layer-source.js';
import { digestHex } from './paths.js';
import { tryNormalizeImageName } from './reference.js';

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  platform?: { os?: string; architecture?: string };
  annotations?: Record<string, string>;
}

const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
const MANIFEST_TYPES = new Set(['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json']);
const MAX_INDEX_DEPTH = 4;

function bad(view: ArchiveView, why: string): NsboxError {
  return new NsboxError('BAD_ARCHIVE', `${view.label}: ${why}`, 'the OCI layout is damaged or incomplete');
}

function descriptor(view: ArchiveView, v: unknown, what: string): Descriptor {
  const d = v as Descriptor;
  if (typeof d !== 'object' || d === null || typeof d.digest !== 'string') throw bad(view, `${what} has no digest`);
  digestHex(d.digest);
  return d;
}

export function blobPath(digest: string): string {
  return `blobs/sha256/${digestHex(digest)}`;
}

function readBlob(view: ArchiveView, d: Descriptor, what: string): Buffer {
  const bytes = view.readSmall(blobPath(d.digest), what);
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (`sha256:${actual}` !== d.digest) throw bad(view, `${what} ${d.digest} does not match its digest (sha256:${actual})`);
  return bytes;
}

function platformMatches(d: Descriptor): boolean {
  if (!d.platform) return true;
  const { os, architecture } = d.platform;
  return (!os || os === 'linux') && (!architecture || architecture === ociArch());
}

export function readOciLayout(view: ArchiveView): ImageSource[] {
  const layout = parseJson(view.readSmall('oci-layout', 'oci-layout'), `oci-layout in ${view.label}`) as { imageLayoutVersion?: unknown };
  if (typeof layout !== 'object' || layout === null || typeof layout.imageLayoutVersion !== 'string') throw bad(view, 'oci-layout has no imageLayoutVersion');
  const index = parseJson(view.readSmall('index.json', 'index'), `index.json in ${view.label}`);

  const found = new Map<string, Descriptor>();
  let skippedPlatforms = 0;
  const collect = (idx: unknown, depth: number, what: string): void => {
    const manifests = (idx as { manifests?: unknown })?.manifests;
    if (!Array.isArray(manifests)) throw bad(view, `${what} has no manifests`);
    for (const m of manifests) {
      const d = descriptor(view, m, `a manifest in ${what}`);
      if (!platformMatches(d)) {
        skippedPlatforms++;
        continue;
      }
      if (d.mediaType && INDEX_TYPES.has(d.mediaType)) {
        if (depth >= MAX_INDEX_DEPTH) throw bad(view, 'image indexes nest too deeply');
        collect(parseJson(readBlob(view, d, 'index'), `index ${d.digest}`), depth + 1, `index ${d.digest}`);
      } else if (!d.mediaType || MANIFEST_TYPES.has(d.mediaType)) {
        if (!found.has(d.digest)) found.set(d.digest, d);
      }
    }
  };
  collect(index, 0, 'index.json');
  if (found.size === 0)
    throw bad(view, skippedPlatforms ? `no image for linux/${ociArch()} (${skippedPlatforms} for other platforms)` : 'index.json lists no image manifest');

  return [...found.values()].map((d) => {
    const manifest = parseJson(readBlob(view, d, 'manifest'), `manifest ${d.digest}`) as { config?: unknown; layers?: unknown };
    const configDesc = descriptor(view, manifest?.config, `manifest ${d.digest} config`);
    if (!Array.isArray(manifest.layers)) throw bad(view, `manifest ${d.digest} has no layers`);
    const configBytes = readBlob(view, configDesc, 'config');
    const parsed = parseImageConfig(parseJson(configBytes, `config ${configDesc.digest}`), `config ${configDesc.digest}`);
    const layerDescs = manifest.layers.map((l, i) => descriptor(view, l, `layer ${i + 1} of manifest ${d.digest}`));
    if (parsed.diffIds.length !== layerDescs.length)
      throw bad(view, `config ${configDesc.digest} lists ${parsed.diffIds.length} layers but manifest ${d.digest} ${layerDescs.length}`);
    const layers = layerDescs.map((l, j) => {
      const path = blobPath(l.digest);
      const label = `layer ${j + 1}/${layerDescs.length} (${l.digest.slice(0, 19)}…)`;
      const range = view.range(path, 'layer blob');
      if (typeof l.size === 'number' && l.size !== range.length) throw bad(view, `${label} is ${range.length} bytes, the manifest says ${l.size}`);
      return { range, compression: layerCompression(range, label), expectedDiffId: parsed.diffIds[j], expectedDigest: l.digest, label };
    });
    const annotated = d.annotations?.['io.containerd.image.name'];
    const name = annotated ? tryNormalizeImageName(annotated) : null;
    return { kind: 'oci' as const, names: name ? [name] : [], layers, configBytes };
  });
}
