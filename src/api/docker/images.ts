// Docker's image endpoints on nsbox's store: list, inspect, create (pull,
// with docker's progress JSON), tag, remove, load and get.
import { createWriteStream, mkdtempSync, rmSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NsboxError } from '../../errors.js';
import type { ImageRecord } from '../../image/record.js';
import { isPauseImage } from './containers.js';
import { registryAuthOf } from './registry.js';
import { badRequest, flag, notFound, sendJson, toApiError } from './wire.js';
import type { ServiceContext } from './context.js';

const unix = (iso: string | undefined) => (iso ? Math.floor(Date.parse(iso) / 1000) : 0);

function listEntry(i: ImageRecord) {
  return {
    Id: `sha256:${i.id}`,
    ParentId: '',
    RepoTags: i.names.length ? i.names : ['<none>:<none>'],
    RepoDigests: [],
    Created: unix(i.created ?? i.createdAt),
    Size: i.size,
    VirtualSize: i.size,
    SharedSize: -1,
    Labels: i.config.labels ?? {},
    Containers: -1,
  };
}

/** docker names an image "sha256:<id>" as well as by name. */
const bare = (ref: string) => ref.replace(/^sha256:/, '');

async function find(ctx: ServiceContext, ref: string) {
  const { inspectImage } = await import('../../image/api.js');
  try {
    return inspectImage(bare(ref), { root: ctx.dataRoot });
  } catch (err) {
    if (err instanceof NsboxError && err.code === 'IMAGE_NOT_FOUND') throw notFound(`No such image: ${ref}`);
    throw err;
  }
}

export async function listImagesJson(ctx: ServiceContext, res: ServerResponse): Promise<void> {
  const { listImages } = await import('../../image/api.js');
  sendJson(res, 200, listImages({ root: ctx.dataRoot }).map(listEntry));
}

export async function inspectImageJson(ctx: ServiceContext, ref: string, res: ServerResponse): Promise<void> {
  const i = await find(ctx, ref);
  sendJson(res, 200, {
    Id: `sha256:${i.id}`,
    RepoTags: i.names,
    RepoDigests: [],
    Parent: '',
    Comment: '',
    Created: i.created ?? i.createdAt,
    Container: '',
    DockerVersion: '',
    Author: '',
    Config: { Env: [], Cmd: null, Entrypoint: null, WorkingDir: '', User: '', Labels: {}, ...i.Config },
    Architecture: i.Architecture || 'amd64',
    Os: i.Os,
    Size: i.Size,
    VirtualSize: i.Size,
    GraphDriver: { Name: 'overlay', Data: null },
    RootFS: i.RootFS,
    Metadata: { LastTagTime: i.createdAt },
  });
}

/** POST /images/create?fromImage=&tag=: a pull, with one JSON progress object per line. */
export async function createImage(ctx: ServiceContext, q: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const credentials = registryAuthOf(req);
  const from = q.get('fromImage');
  if (!from) throw badRequest('fromImage is required (importing with fromSrc is not supported: use /images/load)');
  const tag = q.get('tag');
  const ref = tag ? (tag.startsWith('sha256:') ? `${from}@${tag}` : `${from}:${tag}`) : from;
  res.writeHead(200, { 'Content-Type': 'application/json' });
  const say = (o: object) => res.write(JSON.stringify(o) + '\r\n');
  // A pause image is never pulled: its container is the pod, held by nsbox's own pause.
  if (isPauseImage(ref)) {
    say({ status: `${ref}: nsbox holds the pod with its own pause; nothing to pull` });
    return void res.end();
  }
  const { pullImage } = await import('../../image/pull.js');
  try {
    say({ status: `Pulling from ${from}`, id: tag ?? 'latest' });
    const result = await pullImage(ref, {
      root: ctx.dataRoot,
      credentials,
      platform: q.get('platform') || undefined,
      onProgress: (p) => {
        if (p.phase !== 'layer' || !p.digest) return;
        const id = p.digest.replace(/^sha256:/, '').slice(0, 12);
        if (p.state === 'fetching') say({ status: 'Downloading', id, progressDetail: { current: p.bytes ?? 0, total: p.total ?? 0 } });
        else say({ status: p.state === 'present' ? 'Already exists' : 'Pull complete', id, progressDetail: {} });
      },
    });
    say({ status: `Digest: ${result.digest}` });
    say({ status: `Status: Downloaded newer image for ${ref}` });
  } catch (err) {
    // The status line is out already: docker's clients read an error object.
    const e = toApiError(err);
    say({ errorDetail: { message: e.message }, error: e.message });
  }
  res.end();
}

export async function tagImageJson(ctx: ServiceContext, ref: string, q: URLSearchParams, res: ServerResponse): Promise<void> {
  const repo = q.get('repo');
  if (!repo) throw badRequest('repo is required');
  await find(ctx, ref);
  const { tagImage } = await import('../../image/tag.js');
  await tagImage(bare(ref), [`${repo}:${q.get('tag') || 'latest'}`], { root: ctx.dataRoot });
  res.writeHead(201);
  res.end();
}

export async function removeImageJson(ctx: ServiceContext, ref: string, q: URLSearchParams, res: ServerResponse): Promise<void> {
  await find(ctx, ref);
  const { removeImage } = await import('../images.js');
  const r = await removeImage(bare(ref), { root: ctx.dataRoot, stateRoot: ctx.root, force: flag(q, 'force') });
  sendJson(res, 200, [...r.untagged.map((u) => ({ Untagged: u })), ...(r.deleted ? [{ Deleted: `sha256:${r.deleted}` }] : [])]);
}

/** POST /images/load: the body is an archive (docker-archive or OCI), imported as `image load` does. */
export async function loadImages(ctx: ServiceContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nsbox-load-'));
  try {
    const file = join(dir, 'archive.tar');
    await pipeline(req, createWriteStream(file));
    const { importImages } = await import('../../image/import.js');
    const result = await importImages(file, { root: ctx.dataRoot });
    const names = result.images.flatMap((i) => i.names);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ stream: names.length ? names.map((n) => `Loaded image: ${n}\n`).join('') : 'Loaded image\n' }) + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** GET /images/get?names=… and /images/{name}/get: a docker-archive of them. */
export async function getImages(ctx: ServiceContext, names: string[], res: ServerResponse): Promise<void> {
  for (const n of names) await find(ctx, n);
  const dir = mkdtempSync(join(tmpdir(), 'nsbox-get-'));
  try {
    const output = join(dir, 'images.tar');
    const { saveImages } = await import('../../image/save.js');
    await saveImages(names.map(bare), { root: ctx.dataRoot, output, format: 'docker-archive' });
    res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    await pipeline(createReadStream(output), res);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
