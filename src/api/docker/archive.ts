// GET, HEAD and PUT /containers/{id}/archive: docker cp and testcontainers'
// copies, on nsbox's `cp` (every path resolved inside the container's root,
// every step below an fd). The stat of the path comes in the
// X-Docker-Container-Path-Stat header (base64 JSON). A container created
// and not yet started has no files until its pod exists: a copy makes its
// pod and container (created, not started), as docker's has a rootfs from
// its create, so that what is copied is there when its process starts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import { NsboxError } from '../../errors.js';
import type { Container } from '../container.js';
import type { PathStat } from '../../copy/stat.js';
import { oneAtATime, resolveContainer, runDocker } from './containers.js';
import { writeDockerContainer } from './store.js';
import { ApiError, badRequest, flag, notFound } from './wire.js';
import type { ServiceContext } from './context.js';

/** The copy's errors in docker's terms. */
const STATUS_OF_COPY: Record<string, number> = {
  CP_NO_SUCH_FILE: 404,
  CP_NO_SUCH_DIRECTORY: 404,
  CP_NOT_A_DIRECTORY: 400,
  CP_CONFLICT: 400,
  CP_UNSAFE: 400,
  CP_BAD_ARCHIVE: 400,
  CP_UNSUPPORTED: 400,
};

function asApiError(err: unknown): unknown {
  if (err instanceof NsboxError && STATUS_OF_COPY[err.code] !== undefined) return new ApiError(STATUS_OF_COPY[err.code]!, err.oneLine());
  return err;
}

/** The nsbox container behind `ref`, made (created, not started) when the docker container has not started yet. */
async function filesOf(ctx: ServiceContext, ref: string): Promise<Container> {
  const r = await resolveContainer(ctx, ref);
  if (r.docker?.kind === 'pause') throw badRequest(`${r.docker.Name} is a pod's holder (nsbox's pause): it has no files to copy`);
  if (r.container) return r.container;
  if (!r.docker || r.docker.started) throw notFound(`No such container: ${ref}`);
  const d = r.docker;
  return oneAtATime(async () => {
    const again = await resolveContainer(ctx, d.Id);
    if (again.container) return again.container;
    await runDocker(ctx, d, true);
    writeDockerContainer(ctx.root, { ...d, made: true });
    const made = await resolveContainer(ctx, d.Id);
    if (!made.container) throw new ApiError(500, `the container ${d.Name} was made but cannot be found`);
    return made.container;
  });
}

const statHeader = (s: PathStat) => Buffer.from(JSON.stringify(s)).toString('base64');

function pathOf(q: URLSearchParams): string {
  const path = q.get('path');
  if (!path) throw badRequest('path is required: the path in the container');
  return path;
}

async function statOf(c: Container, path: string): Promise<PathStat> {
  const { statContainerPath } = await import('../copy.js');
  return statContainerPath(c, path).catch((err) => {
    throw asApiError(err);
  });
}

export async function headArchive(ctx: ServiceContext, ref: string, q: URLSearchParams, res: ServerResponse): Promise<void> {
  const s = await statOf(await filesOf(ctx, ref), pathOf(q));
  res.writeHead(200, { 'X-Docker-Container-Path-Stat': statHeader(s), 'Content-Type': 'application/json' });
  res.end();
}

export async function getArchive(ctx: ServiceContext, ref: string, q: URLSearchParams, res: ServerResponse): Promise<void> {
  const c = await filesOf(ctx, ref);
  const path = pathOf(q);
  const s = await statOf(c, path);
  const { copyFromContainer } = await import('../copy.js');
  res.writeHead(200, { 'X-Docker-Container-Path-Stat': statHeader(s), 'Content-Type': 'application/x-tar' });
  const body = new PassThrough();
  body.pipe(res);
  try {
    await copyFromContainer(c, path, { tar: body });
    body.end();
  } catch (err) {
    // The header is sent: a cut stream is all a client can be told now.
    process.stderr.write(`nsbox service: archive of ${path} failed: ${(err as Error).message}\n`);
    res.destroy();
  }
}

/**
 * A tar stream unpacked into the directory `path`. nsbox never replaces a
 * directory by a non-directory or the reverse: it refuses, as docker does
 * with noOverwriteDirNonDir (which its CLI always sends); without it docker
 * would replace, so the refusal says so.
 */
export async function putArchive(ctx: ServiceContext, ref: string, q: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const c = await filesOf(ctx, ref);
  const path = pathOf(q);
  const { copyToContainer } = await import('../copy.js');
  try {
    await copyToContainer(c, { tar: req }, path, { archive: flag(q, 'copyUIDGID') });
  } catch (err) {
    req.resume(); // the rest of the body, so that the answer is read
    const e = asApiError(err);
    if (e instanceof ApiError && e.status === 400 && err instanceof NsboxError && err.code === 'CP_CONFLICT' && !flag(q, 'noOverwriteDirNonDir'))
      throw new ApiError(400, `${e.message} (nsbox never replaces a directory with a non-directory or the reverse, whatever noOverwriteDirNonDir says)`);
    throw e;
  }
  res.writeHead(200);
  res.end();
}
