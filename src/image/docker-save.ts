// `docker save` archives (and podman's, skopeo's and crane's docker-archive,
// and Docker 25+'s OCI-layout-with-manifest.json): manifest.json lists, per
// image, its config file, its RepoTags and its layer tars (bottom first),
// under whatever paths the writer chose (<hex>/layer.tar, <hex>.tar,
// <hex>.tar.gz, sha256:<hex>, blobs/sha256/<hex>); the config's
// rootfs.diff_ids give each layer's expected digest.
import { NsboxError } from '../errors.js';
import type { ArchiveView } from './archive.js';
import { parseImageConfig, parseJson } from './config.js';
import { layerCompression, type ImageSource } from './layer-source.js';
import { tryNormalizeImageName } from './reference.js';

interface ManifestEntry {
  Config?: unknown;
  RepoTags?: unknown;
  Layers?: unknown;
}

/** More images than this in one archive is no save of a real image set. */
const MAX_IMAGES = 1024;

function bad(view: ArchiveView, why: string): NsboxError {
  return new NsboxError('BAD_ARCHIVE', `${view.label}: ${why}`, 'the docker save archive is damaged');
}

export function readDockerSave(view: ArchiveView): ImageSource[] {
  const manifest = parseJson(view.readSmall('manifest.json', 'manifest'), `manifest.json in ${view.label}`);
  if (!Array.isArray(manifest) || manifest.length === 0) throw bad(view, 'manifest.json lists no images');
  if (manifest.length > MAX_IMAGES) throw bad(view, `manifest.json lists ${manifest.length} images, more than the ${MAX_IMAGES} nsbox reads from one archive`);
  return (manifest as ManifestEntry[]).map((m, i) => {
    if (typeof m !== 'object' || m === null || typeof m.Config !== 'string' || !Array.isArray(m.Layers) || !m.Layers.every((l) => typeof l === 'string'))
      throw bad(view, `manifest.json entry ${i + 1} has no Config or Layers`);
    const layerPaths = m.Layers as string[];
    const configBytes = view.readSmall(m.Config, 'config');
    const parsed = parseImageConfig(parseJson(configBytes, `config ${m.Config}`), `config ${m.Config}`);
    if (parsed.diffIds.length !== layerPaths.length)
      throw bad(view, `config ${m.Config} lists ${parsed.diffIds.length} layers but manifest.json ${layerPaths.length}`);
    const layers = layerPaths.map((p, j) => {
      const label = `layer ${j + 1}/${layerPaths.length} (${p})`;
      const range = view.range(p, 'layer');
      return { range, compression: layerCompression(range, label), expectedDiffId: parsed.diffIds[j], label };
    });
    const tags = Array.isArray(m.RepoTags) ? (m.RepoTags as unknown[]).filter((t): t is string => typeof t === 'string') : [];
    const names = tags.map(tryNormalizeImageName).filter((n): n is string => n !== null);
    return { kind: 'docker-save' as const, names, layers, configBytes };
  });
}
