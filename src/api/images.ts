// The image verbs (import, ls, inspect, rm), loaded on first use: they bring
// node-tar and the store, which the other verbs never need.
import type { RemoveImageOptions, RemoveImageResult } from '../image/remove.js';

export type { RemoveImageOptions, RemoveImageResult } from '../image/remove.js';
export type { PullOptions, PullProgress, PullResult } from '../image/pull.js';
import type { PullOptions, PullResult } from '../image/pull.js';

/** Adds NAME[:TAG] names to a stored image. */
export async function tagImage(ref: string, names: string[], opts: { root?: string } = {}): Promise<import('../image/record.js').ImageRecord> {
  return (await import('../image/tag.js')).tagImage(ref, names, opts);
}

export type { SaveFormat, SaveOptions } from '../image/save.js';
import type { SaveOptions } from '../image/save.js';

/** Writes images as a docker-archive, an oci-archive or an OCI layout directory, with their own ids and digests. */
export async function saveImages(refs: string[], opts: SaveOptions): Promise<{ output: string; format: string; images: string[] }> {
  return (await import('../image/save.js')).saveImages(refs, opts);
}

export type { PushOptions, PushResult } from '../image/push.js';
import type { PushOptions, PushResult } from '../image/push.js';

/** Pushes a stored image to DEST (default: its name) on a registry. */
export async function pushImage(ref: string, dest: string | undefined, opts: PushOptions = {}): Promise<PushResult> {
  return (await import('../image/push.js')).pushImage(ref, dest, opts);
}

/** Pulls REF from its registry into the store (see image/pull.ts). */
export async function pullImage(ref: string, opts: PullOptions = {}): Promise<PullResult> {
  return (await import('../image/pull.js')).pullImage(ref, opts);
}
export async function imageVerbs() {
  const [api, imports, reference, format] = await Promise.all([
    import('../image/api.js'),
    import('../image/import.js'),
    import('../image/reference.js'),
    import('../image/format.js'),
  ]);
  return {
    listImages: api.listImages,
    inspectImage: api.inspectImage,
    importImages: imports.importImages,
    removeImage,
    pullImage,
    tagImage,
    saveImages,
    splitImageName: reference.splitImageName,
    formatSize: format.formatSize,
  };
}

/**
 * Removes an image, or one of its names; refused while a container of a
 * pod under the state root (`stateRoot`, default: `root`, else the runtime
 * directory) was made from it.
 */
export async function removeImage(ref: string, opts: RemoveImageOptions & { stateRoot?: string } = {}): Promise<RemoveImageResult> {
  const [{ removeImage: remove }, { listContainerRecords }, { defaultRuntimeRoot }] = await Promise.all([import('../image/remove.js'), import('../container/list.js'), import('../state/paths.js')]);
  const stateRoot = opts.stateRoot ?? opts.root ?? defaultRuntimeRoot();
  const usedBy = opts.usedBy ?? ((id: string) => listContainerRecords(stateRoot).filter((r) => r.image.id === id).map((r) => `${r.podName}/${r.name}`));
  return remove(ref, { ...opts, usedBy });
}
