// `run`: a container from an image (a name, an id, or a path to an archive,
// imported first) in a running pod; resolves once its process runs (or has
// failed to start: then its record says why).
import { NsboxError } from '../errors.js';
import type { Container } from './container.js';
import type { ContainerRecord } from '../container/record.js';
import type { RunOptions } from '../container/spec.js';
import { getPod } from './pods.js';

export type { RunOptions } from '../container/spec.js';

export interface RunRequestOptions {
  root: string;
  /** Where images live. */
  dataRoot: string;
  pod: string;
  image: string;
  options: RunOptions;
  /** Lines of progress while an archive is imported. */
  onProgress?: (line: string) => void;
}

export async function runContainer(req: RunRequestOptions): Promise<{ record: ContainerRecord; container: Container }> {
  const { resolveImage, buildRunRequest } = await import('../container/run.js');
  const { Container } = await import('./container.js');
  const pod = getPod(req.pod, { root: req.root });
  if (pod.status() !== 'running') throw new NsboxError('POD_NOT_RUNNING', `pod ${pod.name} is not running (status ${pod.status()})`, `create it with \`nsbox pod create --name ${pod.name}\` after removing it`);
  const image = await resolveImage(req.image, req.dataRoot, req.onProgress);
  const record = await pod.startContainer(buildRunRequest(image, req.options));
  return { record, container: new Container(pod, record.name) };
}
