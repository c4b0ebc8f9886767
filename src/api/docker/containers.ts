// Docker's container lifecycle on nsbox: create records what start will
// run; start makes the pod (its own, or joins container:X's) and runs it;
// stop, kill, restart, wait and remove act on the nsbox container. A
// container made from a pause image is the pod itself, held by nsbox's
// own pause.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NsboxError } from '../../errors.js';
import { randomHex } from '../../process/random.js';
import { withStateLock } from '../../state/lock.js';
import type { Container } from '../container.js';
import type { Pod } from '../pod.js';
import { dockerName, findDockerContainer, listDockerContainers, removeDockerContainer, writeDockerContainer, DOCKER_RECORD_VERSION, type DockerContainer } from './store.js';
import { publishAllSpecs, translateCreate, type CreateBody } from './translate.js';
import { badRequest, conflict, flag, notFound, readJsonBody, sendEmpty, sendJson } from './wire.js';
import type { ServiceContext } from './context.js';
import { emitContainerEvent } from './events.js';
import { reportExit, watchRun } from './watch.js';

/** Pause images: their container is the pod's holder, nsbox's own pause. */
const PAUSE_IMAGE = /^(registry\.k8s\.io\/pause|k8s\.gcr\.io\/pause|gcr\.io\/google_containers\/pause(-amd64)?)(:[\w][\w.-]*)?$/;

export const isPauseImage = (image: string) => PAUSE_IMAGE.test(image);

/**
 * Lifecycle changes one at a time: clients fire them in parallel (`docker
 * rm -f a b`), and removing a pod's holder while a member is being removed
 * must not race.
 */
let queue: Promise<unknown> = Promise.resolve();
export function oneAtATime<T>(work: () => Promise<T>): Promise<T> {
  const next = queue.then(work, work);
  queue = next.catch(() => {});
  return next;
}

const NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** A container the API knows: one it made (docker record), or any nsbox container. */
export interface Resolved {
  docker: DockerContainer | null;
  /** The nsbox container, once started (null for a pause, or before start). */
  container: Container | null;
  pod: Pod | null;
}

async function podOf(ctx: ServiceContext, name: string): Promise<Pod | null> {
  const { getPod } = await import('../pods.js');
  try {
    return getPod(name, { root: ctx.root });
  } catch (err) {
    if (err instanceof NsboxError && err.code === 'NO_SUCH_POD') return null;
    throw err;
  }
}

async function nsboxContainer(pod: Pod | null, name: string): Promise<Container | null> {
  if (!pod) return null;
  const { Container } = await import('../container.js');
  const c = new Container(pod, name);
  try {
    c.record();
    return c;
  } catch (err) {
    if (err instanceof NsboxError && err.code === 'NO_SUCH_CONTAINER') return null;
    throw err;
  }
}

export async function resolveContainer(ctx: ServiceContext, ref: string): Promise<Resolved> {
  const d = findDockerContainer(ctx.root, ref);
  if (d) {
    const pod = d.started || d.made ? await podOf(ctx, d.pod) : null;
    return { docker: d, pod, container: d.kind === 'container' && d.container ? await nsboxContainer(pod, d.container) : null };
  }
  // Containers made with nsbox's own CLI or library: by id (prefix), POD/NAME or NAME.
  const { listContainerRecords, getContainer } = await import('../containers.js');
  const records = listContainerRecords(ctx.root);
  const byId = /^[0-9a-f]{3,}$/.test(ref) ? records.filter((r) => r.id.startsWith(ref)) : [];
  const name = ref.replace(/^\//, '');
  const byName = records.find((r) => r.ref === name || dockerName(r) === name);
  const hit = byId.length === 1 ? byId[0]!.ref : (byName?.ref ?? null);
  if (hit) {
    try {
      const c = getContainer(hit, { root: ctx.root });
      return { docker: null, pod: c.pod, container: c };
    } catch (err) {
      if (!(err instanceof NsboxError && (err.code === 'NO_SUCH_CONTAINER' || err.code === 'NO_SUCH_POD'))) throw err;
    }
  }
  throw notFound(`No such container: ${ref}`);
}

/** Docker's states: created, running, restarting, exited. */
export function dockerState(r: Resolved): string {
  if (r.docker && !r.docker.started) return 'created';
  if (r.docker?.kind === 'pause') return r.pod?.status() === 'running' ? 'running' : 'exited';
  if (!r.container) return 'exited';
  const s = r.container.state();
  return s === 'stopping' ? 'running' : s;
}

export async function createContainer(ctx: ServiceContext, req: IncomingMessage, res: ServerResponse, q: URLSearchParams): Promise<void> {
  const body = await readJsonBody<CreateBody>(req);
  const t = translateCreate(body);
  const asked = q.get('name');
  if (asked !== null && asked !== '' && !NAME.test(asked)) throw badRequest(`Invalid container name (${asked}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  const id = randomHex(32);
  const name = asked ? asked.replace(/^\//, '') : `nsbox_${id.slice(0, 12)}`;
  const pause = isPauseImage(t.image);
  let imageExposes: string[] = [];
  if (!pause) {
    // The image must be there now (docker's clients pull on a 404 and create again).
    const { findImage } = await import('../../image/store.js');
    try {
      imageExposes = findImage(ctx.dataRoot, t.image).config.exposedPorts ?? [];
    } catch (err) {
      if (err instanceof NsboxError && err.code === 'IMAGE_NOT_FOUND') throw notFound(`No such image: ${t.image}`);
      throw err;
    }
  }
  if (t.publishAll) t.publish.push(...publishAllSpecs(t.publish, [...t.publishAll.exposed, ...imageExposes]));
  if (t.placement.kind === 'own' && !['builtin', 'none'].includes(t.placement.network)) {
    const { networkExists } = await import('../networks.js');
    // 400, not docker's 404: its CLI reads a 404 on create as a missing image and pulls.
    if (!networkExists(t.placement.network, { root: ctx.root })) throw badRequest(`network ${t.placement.network} not found: create it with 'docker network create ${t.placement.network}'`);
  }
  await withStateLock(ctx.root, async () => {
    if (findDockerContainer(ctx.root, name)?.Name === name) throw conflict(`Conflict. The container name "/${name}" is already in use. Remove it or choose another name.`);
    let pod = name;
    let ownPod = true;
    if (t.placement.kind === 'join') {
      const target = findDockerContainer(ctx.root, t.placement.target);
      if (!target) throw notFound(`No such container: ${t.placement.target}`);
      pod = target.pod;
      ownPod = false;
      if (t.addHosts.length) throw badRequest(`ExtraHosts (--add-host) set the /etc/hosts of a pod, and this one joins the pod of ${target.Name}: give them to ${target.Name}`);
      if (t.publish.length) {
        // Docker refuses -p with --net=container:; nsbox publishes the ports on the pod when this container starts.
        const existing = await podOf(ctx, pod);
        if (existing?.record.network === 'pasta') throw badRequest(`cannot publish ${t.publish.join(', ')} on the pod of ${target.Name}: its ports are pasta's, set when it starts; publish them on ${target.Name}`);
      }
    } else if (!pause && (await podOf(ctx, name))) throw conflict(`Conflict. A pod named "${name}" already exists. Remove it or choose another name.`);
    const record: DockerContainer = {
      version: DOCKER_RECORD_VERSION,
      Id: id,
      Name: name,
      Created: new Date().toISOString(),
      kind: pause ? 'pause' : 'container',
      pod,
      ownPod,
      ...(pause ? {} : { container: name }),
      image: t.image,
      options: { ...t.options, name },
      publish: t.publish,
      ...(t.addHosts.length ? { addHosts: t.addHosts } : {}),
      network: t.placement.kind === 'own' ? t.placement.network : 'builtin',
      // On a user network docker adds the short id as an alias, and so does nsbox.
      ...(t.placement.kind === 'own' && !['builtin', 'none'].includes(t.placement.network) ? { networkAliases: [...new Set([...t.placement.aliases, id.slice(0, 12)])] } : {}),
      autoRemove: t.autoRemove,
      ...(t.stopTimeout !== undefined ? { stopTimeout: t.stopTimeout } : {}),
      config: Object.fromEntries(Object.entries(body).filter(([k]) => k !== 'HostConfig' && k !== 'NetworkingConfig')),
      hostConfig: (body.HostConfig ?? {}) as Record<string, unknown>,
      started: false,
    };
    writeDockerContainer(ctx.root, record);
    emitContainerEvent('create', record);
  });
  sendJson(res, 201, { Id: id, Warnings: t.warnings });
}

/** Makes its pod and runs it; createOnly: makes it without starting it (for files copied in before its start). */
export async function runDocker(ctx: ServiceContext, d: DockerContainer, createOnly = false): Promise<void> {
  if (d.kind === 'pause') {
    const { createPod } = await import('../create-pod.js');
    await createPod({ root: ctx.root, name: d.pod, hostname: d.Id.slice(0, 12), detached: true, ports: d.publish, network: d.network, ...(d.networkAliases ? { networkAliases: d.networkAliases } : {}), labels: (d.options.labels as Record<string, string>) ?? undefined });
    return;
  }
  const { runContainer } = await import('../run.js');
  if (!d.ownPod && d.publish.length) await publishOnJoinedPod(ctx, d);
  // docker's hostname is the short id.
  const own = d.ownPod ? { network: d.network, hostname: d.Id.slice(0, 12), ...(d.networkAliases ? { networkAliases: d.networkAliases } : {}), ...(d.addHosts ? { addHosts: d.addHosts } : {}) } : {};
  await runContainer({ root: ctx.root, dataRoot: ctx.dataRoot, pod: d.ownPod ? undefined : d.pod, image: d.image, options: d.options, publish: d.ownPod ? d.publish : [], pull: { policy: 'never' }, createOnly, ...own });
}

/** A joiner's -p: published on its pod, but for the ports the pod publishes already (asked for again on a restart). */
async function publishOnJoinedPod(ctx: ServiceContext, d: DockerContainer): Promise<void> {
  const pod = await podOf(ctx, d.pod);
  if (!pod) throw conflict(`the pod of ${d.Name} is gone: start the container that holds it first`);
  const { parsePortSpecs } = await import('../../net/ports.js');
  const has = pod.record.ports ?? [];
  const missing = d.publish.filter((spec) =>
    parsePortSpecs(spec).some((m) => !has.some((p) => p.podPort === m.podPort && p.protocol === m.protocol && (m.hostPort === 0 || m.hostPort === p.hostPort))),
  );
  if (!missing.length) return;
  const { publishOnRunningPod } = await import('../publish.js');
  await publishOnRunningPod(ctx.root, pod.id, missing);
}

export async function startContainer(ctx: ServiceContext, ref: string, res: ServerResponse): Promise<void> {
  const r = await resolveContainer(ctx, ref);
  const state = dockerState(r);
  if (state === 'running' || state === 'restarting') return sendEmpty(res, 304);
  if (r.docker && !r.docker.started) {
    if (r.docker.made && r.container) await r.container.start();
    else await runDocker(ctx, r.docker);
    const started = { ...r.docker, started: true };
    writeDockerContainer(ctx.root, started);
    if (started.autoRemove) void ctx.track(autoRemove(ctx, started));
  } else if (r.container) await r.container.start();
  else if (r.docker?.kind === 'pause') {
    if (r.pod) await r.pod.remove({ force: true });
    await runDocker(ctx, r.docker);
  } else throw conflict(`container ${ref} cannot be started`);
  if (r.docker) await announceStart(ctx, r.docker.Id, 'start');
  sendEmpty(res, 204);
}

/** The start event, and the watch of the run (for its die event). */
async function announceStart(ctx: ServiceContext, id: string, action: string): Promise<void> {
  const r = await resolveContainer(ctx, id);
  if (!r.docker) return;
  emitContainerEvent(action, r.docker);
  if (r.container) watchRun(r.docker, r.container);
}

/** docker's --rm: once it has exited, it goes (with its own pod); its exit code is kept for wait. */
async function autoRemove(ctx: ServiceContext, d: DockerContainer): Promise<void> {
  const r = await resolveContainer(ctx, d.Id);
  const code = r.container ? await r.container.wait() : 0;
  ctx.exitCodes.set(d.Id, code);
  // Its attached clients read its output from the log: let them finish first (bounded).
  const readers = [...(ctx.attached.get(d.Id) ?? [])];
  await Promise.race([Promise.allSettled(readers), new Promise((ok) => setTimeout(ok, 10_000))]);
  await oneAtATime(async () => removeResolved(ctx, await resolveContainer(ctx, d.Id), true, true));
}

export async function stopContainer(ctx: ServiceContext, ref: string, q: URLSearchParams, res: ServerResponse): Promise<void> {
  const r = await resolveContainer(ctx, ref);
  const state = dockerState(r);
  if (state !== 'running' && state !== 'restarting') return sendEmpty(res, 304);
  const t = q.get('t');
  const timeoutSeconds = t !== null ? Number(t) : (r.docker?.stopTimeout ?? 10);
  if (r.docker?.kind === 'pause') await r.pod!.stop({ timeoutSeconds });
  else await r.container!.stop({ timeoutSeconds });
  if (r.docker) {
    reportExit(r.docker, r.container?.record().exitCode ?? 0);
    emitContainerEvent('stop', r.docker);
  }
  sendEmpty(res, 204);
}

export async function killContainer(ctx: ServiceContext, ref: string, q: URLSearchParams, res: ServerResponse): Promise<void> {
  const r = await resolveContainer(ctx, ref);
  if (dockerState(r) !== 'running') throw conflict(`Container ${ref} is not running`);
  const signal = (q.get('signal') ?? 'KILL').replace(/^SIG/i, '');
  if (r.docker?.kind === 'pause') await r.pod!.stop({ timeoutSeconds: 0 });
  else r.container!.kill(/^\d+$/.test(signal) ? Number(signal) : signal);
  if (r.docker) emitContainerEvent('kill', r.docker, { signal });
  sendEmpty(res, 204);
}

export async function restartContainer(ctx: ServiceContext, ref: string, q: URLSearchParams, res: ServerResponse): Promise<void> {
  const r = await resolveContainer(ctx, ref);
  const t = q.get('t');
  const timeoutSeconds = t !== null ? Number(t) : (r.docker?.stopTimeout ?? 10);
  if (r.docker && !r.docker.started) return startContainer(ctx, ref, res);
  if (r.docker?.kind === 'pause') {
    if (r.pod) await r.pod.remove({ force: true, timeoutSeconds });
    await runDocker(ctx, r.docker);
  } else await r.container!.restart({ timeoutSeconds });
  if (r.docker) await announceStart(ctx, r.docker.Id, 'restart');
  sendEmpty(res, 204);
}

export async function waitContainer(ctx: ServiceContext, ref: string, q: URLSearchParams, res: ServerResponse): Promise<void> {
  const condition = q.get('condition') ?? 'not-running';
  if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw badRequest(`unknown wait condition ${JSON.stringify(condition)}`);
  let r = await resolveContainer(ctx, ref);
  const id = r.docker?.Id ?? r.container!.record().id;
  // docker's CLI asks for the wait before it starts the container.
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  while (r.docker && !r.docker.started && condition !== 'not-running') {
    await new Promise((ok) => setTimeout(ok, 20));
    const d = findDockerContainer(ctx.root, id);
    if (!d) break;
    r = await resolveContainer(ctx, id);
  }
  let code = 0;
  if (r.docker?.kind === 'pause') {
    // A detached pod tells its end only by its pause's liveness.
    while (r.pod && r.pod.status() === 'running') await new Promise((ok) => setTimeout(ok, 50));
  }
  else if (r.container) {
    try {
      code = await r.container.wait();
    } catch (err) {
      if (!(err instanceof NsboxError && (err.code === 'NO_SUCH_CONTAINER' || err.code === 'NO_SUCH_POD'))) throw err;
    }
  }
  if (condition === 'removed') {
    while (findDockerContainer(ctx.root, id) && r.docker) await new Promise((ok) => setTimeout(ok, 20));
  }
  code = ctx.exitCodes.get(id) ?? code;
  res.end(JSON.stringify({ StatusCode: code, Error: null }));
}

async function removeResolved(ctx: ServiceContext, r: Resolved, force: boolean, volumes = false): Promise<void> {
  const wasRunning = dockerState(r) === 'running';
  if (r.container) await r.container.remove({ force, volumes });
  if (r.docker && wasRunning) reportExit(r.docker, 137);
  if (r.docker?.ownPod) {
    const still = await podOf(ctx, r.docker.pod);
    if (still) await still.remove({ force: true });
  }
  if (r.docker) {
    removeDockerContainer(ctx.root, r.docker.Id);
    emitContainerEvent('destroy', r.docker);
  }
}

export async function removeContainer(ctx: ServiceContext, ref: string, q: URLSearchParams, res: ServerResponse): Promise<void> {
  const r = await resolveContainer(ctx, ref);
  const force = flag(q, 'force');
  const state = dockerState(r);
  if (!force && (state === 'running' || state === 'restarting'))
    throw conflict(`You cannot remove a running container ${r.docker?.Id ?? ref}. Stop the container before attempting removal or force remove`);
  if (r.docker?.kind === 'pause') {
    // Its members stay listed, exited once their pod is gone, until they are removed too.
    const members = listDockerContainers(ctx.root).filter((d) => d.pod === r.docker!.pod && d.Id !== r.docker!.Id && d.started);
    if (members.length && !force) throw conflict(`container ${r.docker.Name} holds the pod of ${members.map((m) => m.Name).join(', ')}: remove them first, or force`);
  }
  await removeResolved(ctx, r, force, flag(q, 'v'));
  sendEmpty(res, 204);
}
