// `run`: a container from an image (a name, an id, or a path to an archive,
// imported first) in a running pod, or, without one, in a pod made for it
// (named after it, publishing `publish`, removed with it), as docker users
// expect `run -d -p 8080:80 nginx` to work; resolves once its process runs
// (or has failed to start: then its record says why).
import { NsboxError } from '../errors.js';
import type { Container } from './container.js';
import type { ContainerRecord } from '../container/record.js';
import type { Attach } from '../container/manager.js';
import type { RunOptions } from '../container/spec.js';
import type { Pod } from './pod.js';
import { getPod } from './pods.js';

export type { RunOptions } from '../container/spec.js';

export interface RunRequestOptions {
  root: string;
  /** Where images live. */
  dataRoot: string;
  /** The pod to run in; absent: a pod of its own. */
  pod?: string;
  image: string;
  options: RunOptions;
  /** The hostname of a pod of its own (default its name). */
  hostname?: string;
  /** Ports for a pod of its own ("[IP:]HOST:CTR[/udp]"); a given pod publishes its own. */
  publish?: string[];
  /** Network for a pod of its own: a mode or a user network's name, with aliases on it (run --network, --network-alias). */
  network?: string;
  networkAliases?: string[];
  /** --add-host NAME:IP for a pod of its own (a given pod has its own entries). */
  addHosts?: string[];
  /** Lines of progress while an archive is imported. */
  onProgress?: (line: string) => void;
  /** --replace: a container of that name goes first (and its own pod). */
  replace?: boolean;
  /** Whether to pull the image from its registry: when missing (default), always, or never (podman's names). */
  pull?: { policy?: string; tlsVerify?: boolean; certDir?: string; platform?: string };
  /**
   * run -i/-t in the foreground: this process's ends for the container's
   * stdin or terminal. The container then runs in a pod of its own that this
   * process keeps (a library pod: gone when this process is).
   */
  attach?: Attach;
  /** Create it without starting it (docker's create): attach to it, then start it. Needs a detached pod. */
  createOnly?: boolean;
}

const PULL_POLICIES = ['missing', 'always', 'never'];

/** Pulls the image first when the policy says so; a path to an archive is never pulled. */
export async function pullFirst(req: Pick<RunRequestOptions, 'image' | 'dataRoot' | 'pull' | 'onProgress'>): Promise<void> {
  const policy = req.pull?.policy ?? 'missing';
  if (!PULL_POLICIES.includes(policy)) throw new NsboxError('INVALID_ARGUMENT', `--pull ${JSON.stringify(policy)} is not a pull policy`, 'use --pull missing, always or never');
  if (policy === 'never' || req.image.startsWith('/') || req.image.startsWith('.')) return;
  const { findImage } = await import('../image/store.js');
  const { existsSync } = await import('node:fs');
  if (existsSync(req.image)) return;
  if (policy === 'missing') {
    try {
      findImage(req.dataRoot, req.image);
      return;
    } catch (err) {
      if (!(err instanceof NsboxError && err.code === 'IMAGE_NOT_FOUND')) throw err;
    }
  }
  const { parseRemoteRef } = await import('../registry/reference.js');
  try {
    parseRemoteRef(req.image);
  } catch {
    return; // an id prefix or some other local reference: the lookup says what is wrong
  }
  const { pullImage } = await import('../image/pull.js');
  const lines = new Set<string>();
  try {
    await pullImage(req.image, {
      root: req.dataRoot,
      tlsVerify: req.pull?.tlsVerify,
      certDir: req.pull?.certDir,
      platform: req.pull?.platform,
      onProgress: (p) => {
        if (p.phase === 'layer' && p.state !== 'fetching' && !lines.has(p.message)) (lines.add(p.message), req.onProgress?.(p.message));
      },
    });
  } catch (err) {
    if (policy === 'missing' && err instanceof NsboxError && err.code !== 'INTERRUPTED')
      throw new NsboxError(err.code, `no image ${JSON.stringify(req.image)} in the store, and the pull failed: ${err.message}`, err.hint ?? 'import it with `nsbox image import FILE`');
    throw err;
  }
}

/** --replace: removes the container that has the name now, if any. */
async function removeNamesake(req: RunRequestOptions, name: string): Promise<void> {
  const { getContainer } = await import('./containers.js');
  const ref = req.pod === undefined ? name : `${req.pod}/${name}`;
  try {
    await getContainer(ref, { root: req.root }).remove({ force: true });
  } catch (err) {
    if (!(err instanceof NsboxError && (err.code === 'NO_SUCH_CONTAINER' || err.code === 'NO_SUCH_POD'))) throw err;
  }
}

async function ownPod(req: RunRequestOptions, name: string): Promise<Pod> {
  const { createPod } = await import('./create-pod.js');
  return createPod({ root: req.root, name, detached: !req.attach, ports: req.publish ?? [], ownedBy: name, ...(req.network !== undefined ? { network: req.network, networkAliases: req.networkAliases } : {}), ...(req.hostname ? { hostname: req.hostname } : {}), ...(req.addHosts?.length ? { addHosts: req.addHosts } : {}) });
}

export async function runContainer(req: RunRequestOptions): Promise<{ record: ContainerRecord; container: Container }> {
  const { resolveImage, buildRunRequest, generateContainerName } = await import('../container/run.js');
  const { Container } = await import('./container.js');
  if (req.attach && req.pod !== undefined)
    throw new NsboxError('INVALID_ARGUMENT', `-i and -t work in a pod of its own for now, not in pod ${req.pod}`, `run without --pod, or start it detached and use \`nsbox exec -it --join NAME ${req.pod} -- sh\``);
  if (req.pod !== undefined && (req.network !== undefined || req.networkAliases?.length))
    throw new NsboxError('INVALID_ARGUMENT', `--network sets up a pod of its own, and pod ${req.pod} has its own network`, `connect the pod instead: \`nsbox network connect NET ${req.pod}\``);
  if (req.pod !== undefined && req.addHosts?.length)
    throw new NsboxError('INVALID_ARGUMENT', `--add-host sets a pod's /etc/hosts, and pod ${req.pod} has its own`, `give it to \`nsbox pod create --add-host\`, or run without --pod for a pod of its own`);
  if (req.pod !== undefined && req.publish?.length)
    throw new NsboxError('INVALID_ARGUMENT', `-p publishes a pod's ports, and pod ${req.pod} has its own`, `publish them with \`nsbox pod create -p\`, or run without --pod for a pod of its own`);
  // Everything that can be refused is checked before a pod of its own is made.
  await pullFirst(req);
  const image = await resolveImage(req.image, req.dataRoot, req.onProgress);
  const options = { ...req.options, name: req.options.name ?? generateContainerName() };
  const request = buildRunRequest(image, options);
  if (req.replace) await removeNamesake(req, request.name);
  const own = req.pod === undefined;
  const pod = own ? await ownPod(req, request.name) : getPod(req.pod!, { root: req.root });
  pod.dataRoot = req.dataRoot;
  try {
    if (pod.status() !== 'running') throw new NsboxError('POD_NOT_RUNNING', `pod ${pod.name} is not running (status ${pod.status()})`, `create it with \`nsbox pod create --name ${pod.name}\` after removing it`);
    const record = await pod.startContainer(req.attach ? { ...request, attach: req.attach } : request, { createOnly: !!req.createOnly });
    return { record, container: new Container(pod, record.name) };
  } catch (err) {
    if (own) await pod.remove({ force: true }).catch(() => {}); // nothing of it stays
    throw err;
  }
}
