// The Docker Engine API over a unix socket (podman's `system service`):
// routes docker's endpoints to the handlers, strips the /vX.Y prefix,
// answers errors as {"message": …}, serves hijacked attach/exec streams on
// upgraded connections, and exits once idle for `idleSeconds` (0: never).
import { chmodSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { PassThrough, type Duplex } from 'node:stream';
import { NsboxError } from '../../errors.js';
import { identify } from '../../process/proc-stat.js';
import { writeJsonAtomic } from '../../state/atomic.js';
import { statePaths } from '../../state/paths.js';
import type { ServiceContext } from './context.js';
import * as containers from './containers.js';
import * as exec from './exec.js';
import * as images from './images.js';
import { inspectContainerJson, listContainersJson, topContainer } from './list.js';
import { attachContainer, containerLogs, resizeContainer } from './streams.js';
import { info, ping, pingHeaders, version } from './system.js';
import * as networks from './networks.js';
import * as volumes from './volumes.js';
import * as registry from './registry.js';
import * as archive from './archive.js';
import { containerStatsJson } from './stats.js';
import { streamEvents } from './events.js';
import { ApiError, notFound, sendJson, toApiError } from './wire.js';

type Handler = (ctx: ServiceContext, m: string[], q: URLSearchParams, req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/** [method, path pattern, handler]; image names may hold slashes, so they match greedily. */
const ROUTES: [string, RegExp, Handler][] = [
  ['GET', /^\/_ping$/, (_c, _m, _q, _r, res) => ping(res, false)],
  ['HEAD', /^\/_ping$/, (_c, _m, _q, _r, res) => ping(res, true)],
  ['GET', /^\/version$/, (c, _m, _q, _r, res) => version(res, (c as ServiceContext & { nsboxVersion?: string }).nsboxVersion ?? '')],
  ['GET', /^\/info$/, (c, _m, _q, _r, res) => info(c, res)],
  ['GET', /^\/images\/json$/, (c, _m, _q, _r, res) => images.listImagesJson(c, res)],
  ['POST', /^\/images\/create$/, (c, _m, q, req, res) => images.createImage(c, q, req, res)],
  ['POST', /^\/images\/load$/, (c, _m, _q, req, res) => images.loadImages(c, req, res)],
  ['GET', /^\/images\/get$/, (c, _m, q, _r, res) => images.getImages(c, q.getAll('names'), res)],
  ['GET', /^\/images\/(.+)\/get$/, (c, m, _q, _r, res) => images.getImages(c, [m[1]!], res)],
  ['GET', /^\/images\/(.+)\/json$/, (c, m, _q, _r, res) => images.inspectImageJson(c, m[1]!, res)],
  ['POST', /^\/images\/(.+)\/push$/, (c, m, q, req, res) => registry.pushImageJson(c, m[1]!, q, req, res)],
  ['POST', /^\/auth$/, (c, _m, _q, req, res) => registry.authJson(c, req, res)],
  ['POST', /^\/images\/(.+)\/tag$/, (c, m, q, _r, res) => images.tagImageJson(c, m[1]!, q, res)],
  ['DELETE', /^\/images\/(.+)$/, (c, m, q, _r, res) => images.removeImageJson(c, m[1]!, q, res)],
  ['GET', /^\/containers\/json$/, (c, _m, q, _r, res) => listContainersJson(c, q, res)],
  ['POST', /^\/containers\/create$/, (c, _m, q, req, res) => containers.createContainer(c, req, res, q)],
  ['GET', /^\/containers\/([^/]+)\/json$/, (c, m, _q, _r, res) => inspectContainerJson(c, m[1]!, res)],
  ['POST', /^\/containers\/([^/]+)\/start$/, (c, m, _q, _r, res) => containers.oneAtATime(() => containers.startContainer(c, m[1]!, res))],
  ['POST', /^\/containers\/([^/]+)\/stop$/, (c, m, q, _r, res) => containers.stopContainer(c, m[1]!, q, res)],
  ['POST', /^\/containers\/([^/]+)\/kill$/, (c, m, q, _r, res) => containers.killContainer(c, m[1]!, q, res)],
  ['POST', /^\/containers\/([^/]+)\/restart$/, (c, m, q, _r, res) => containers.restartContainer(c, m[1]!, q, res)],
  ['POST', /^\/containers\/([^/]+)\/wait$/, (c, m, q, _r, res) => containers.waitContainer(c, m[1]!, q, res)],
  ['DELETE', /^\/containers\/([^/]+)$/, (c, m, q, _r, res) => containers.oneAtATime(() => containers.removeContainer(c, m[1]!, q, res))],
  ['GET', /^\/containers\/([^/]+)\/logs$/, (c, m, q, _r, res) => containerLogs(c, m[1]!, q, res)],
  ['POST', /^\/containers\/([^/]+)\/resize$/, (c, m, q, _r, res) => resizeContainer(c, m[1]!, q, res)],
  ['GET', /^\/containers\/([^/]+)\/top$/, (c, m, _q, _r, res) => topContainer(c, m[1]!, res)],
  ['POST', /^\/containers\/([^/]+)\/exec$/, (c, m, _q, req, res) => exec.createExec(c, m[1]!, req, res)],
  ['POST', /^\/exec\/([^/]+)\/start$/, (c, m, _q, req, res) => exec.startExec(c, m[1]!, req, null, res)],
  ['POST', /^\/exec\/([^/]+)\/resize$/, (_c, m, q, _r, res) => exec.resizeExec(m[1]!, q, res)],
  ['GET', /^\/exec\/([^/]+)\/json$/, (_c, m, _q, _r, res) => exec.inspectExec(m[1]!, res)],
  ['GET', /^\/volumes$/, (c, _m, q, _r, res) => volumes.listVolumesJson(c, q, res)],
  ['POST', /^\/volumes\/create$/, (c, _m, _q, req, res) => volumes.createVolumeJson(c, req, res)],
  ['POST', /^\/volumes\/prune$/, (c, _m, q, _r, res) => volumes.pruneVolumesJson(c, q, res)],
  ['GET', /^\/volumes\/([^/]+)$/, (c, m, _q, _r, res) => volumes.inspectVolumeJson(c, m[1]!, res)],
  ['DELETE', /^\/volumes\/([^/]+)$/, (c, m, q, _r, res) => volumes.removeVolumeJson(c, m[1]!, q, res)],
  ['GET', /^\/networks$/, (c, _m, q, _r, res) => networks.listNetworksJson(c, q, res)],
  ['POST', /^\/networks\/create$/, (c, _m, _q, req, res) => networks.createNetworkJson(c, req, res)],
  ['GET', /^\/networks\/([^/]+)$/, (c, m, _q, _r, res) => networks.inspectNetworkJson(c, m[1]!, res)],
  ['DELETE', /^\/networks\/([^/]+)$/, (c, m, _q, _r, res) => networks.removeNetworkJson(c, m[1]!, res)],
  ['POST', /^\/networks\/([^/]+)\/connect$/, (c, m, _q, req, res) => networks.connectNetworkJson(c, m[1]!, req, res)],
  ['POST', /^\/networks\/([^/]+)\/disconnect$/, (c, m, _q, req, res) => networks.disconnectNetworkJson(c, m[1]!, req, res)],
  ['POST', /^\/containers\/([^/]+)\/attach$/, (c, m, q, req, res) => attachOverResponse(c, m[1]!, q, req, res)],
  // archive, stats, events
  ['HEAD', /^\/containers\/([^/]+)\/archive$/, (c, m, q, _r, res) => archive.headArchive(c, m[1]!, q, res)],
  ['GET', /^\/containers\/([^/]+)\/archive$/, (c, m, q, _r, res) => archive.getArchive(c, m[1]!, q, res)],
  ['PUT', /^\/containers\/([^/]+)\/archive$/, (c, m, q, req, res) => archive.putArchive(c, m[1]!, q, req, res)],
  ['GET', /^\/containers\/([^/]+)\/stats$/, (c, m, q, _r, res) => containerStatsJson(c, m[1]!, q, res)],
  ['GET', /^\/events$/, (_c, _m, q, _r, res) => streamEvents(q, res)],
];

/** Routes that take over the connection when the client asks for an upgrade. */
const HIJACKED: [RegExp, (ctx: ServiceContext, id: string, q: URLSearchParams, req: IncomingMessage, socket: Duplex) => Promise<void>][] = [
  [/^\/containers\/([^/]+)\/attach$/, (c, id, q, req, s) => attachContainer(c, id, q, req, s)],
  [/^\/exec\/([^/]+)\/start$/, (c, id, _q, req, s) => exec.startExec(c, id, req, s, null)],
];

/** An attach without an upgrade (some clients): the same stream in the response body. */
async function attachOverResponse(ctx: ServiceContext, id: string, q: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'application/vnd.docker.multiplexed-stream' });
  res.flushHeaders(); // the client starts the container once it has the answer's head
  const body = new PassThrough();
  body.pipe(res);
  res.on('close', () => body.emit('close'));
  await attachContainer(ctx, id, q, req, body, false);
}

const VERSION_PREFIX = /^\/v\d+\.\d+(?=\/)/;

function split(url: string): { path: string; query: URLSearchParams } {
  const u = new URL(url, 'http://docker');
  return { path: decodeURIComponent(u.pathname.replace(VERSION_PREFIX, '')), query: u.searchParams };
}

export interface ServeOptions {
  root: string;
  dataRoot: string;
  /** unix:///path, or a path. */
  uri?: string;
  /** Exit after this many idle seconds; 0 never. */
  idleSeconds: number;
  /** Listen on the socket systemd passed (LISTEN_FDS) instead of binding one. */
  inheritedFd?: number;
  nsboxVersion?: string;
  onListening?: (where: string) => void;
}

export function socketPathOf(uri: string): string {
  if (uri.startsWith('unix://')) return uri.slice('unix://'.length);
  if (uri.includes('://')) throw new NsboxError('INVALID_ARGUMENT', `unsupported URI ${JSON.stringify(uri)}`, 'give unix:///PATH (the API is served on a unix socket only)');
  return uri;
}

/** A socket file nobody listens on (a service that died) may be replaced; a live one may not. */
async function claimSocketPath(path: string): Promise<void> {
  try {
    if (!statSync(path).isSocket()) throw new NsboxError('SOCKET', `${path} exists and is not a socket`, 'remove it, or give another URI');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const live = await new Promise<boolean>((ok) => {
    const s = connect(path, () => (s.destroy(), ok(true)));
    s.on('error', () => ok(false));
  });
  if (live) throw new NsboxError('SOCKET', `another service listens on ${path}`, 'stop it, or give another URI');
  rmSync(path, { force: true });
}

/**
 * services/PID.json while this process serves: what a sweep after a killed
 * test run (or a user) checks by pid and start time to find the service.
 */
function recordService(root: string, where: string): void {
  const me = identify(process.pid);
  if (!me) return;
  const file = statePaths.serviceRecord(root, process.pid);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeJsonAtomic(file, { ...me, socket: where });
  process.once('exit', () => rmSync(file, { force: true }));
}

export async function serve(opts: ServeOptions): Promise<{ server: Server; closed: Promise<void> }> {
  let busy = 0;
  let idleTimer: NodeJS.Timeout | null = null;
  let server: Server;
  const armIdle = () => {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = null;
    if (busy === 0 && opts.idleSeconds > 0) idleTimer = setTimeout(() => server.close(), opts.idleSeconds * 1000);
  };
  const ctx: ServiceContext & { nsboxVersion?: string } = {
    root: opts.root,
    dataRoot: opts.dataRoot,
    exitCodes: new Map(),
    attached: new Map(),
    nsboxVersion: opts.nsboxVersion,
    async track(work) {
      busy++;
      armIdle();
      try {
        return await work;
      } finally {
        busy--;
        armIdle();
      }
    },
  };
  const fail = (res: ServerResponse, err: unknown) => {
    const e = toApiError(err);
    if (e.status >= 500) process.stderr.write(`nsbox service: ${e.message}\n`);
    if (res.headersSent) return void res.end();
    sendJson(res, e.status, { message: e.message });
  };
  server = createServer((req, res) => {
    const { path, query } = split(req.url ?? '/');
    const route = ROUTES.map(([method, re, h]) => ({ method, m: re.exec(path), h })).find((r) => r.m && r.method === req.method);
    res.setHeader('API-Version', pingHeaders()['API-Version']!);
    if (!route) return fail(res, notFound(`page not found: ${req.method} ${path} is not served by nsbox`));
    void ctx.track(Promise.resolve().then(() => route.h(ctx, route.m!, query, req, res))).catch((err) => fail(res, err));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    const { path, query } = split(req.url ?? '/');
    const hit = HIJACKED.map(([re, h]) => ({ m: re.exec(path), h })).find((r) => r.m);
    if (!hit || req.method !== 'POST') return void socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    socket.on('error', () => {});
    void ctx.track(hit.h(ctx, hit.m![1]!, query, req, socket)).catch((err) => {
      const e = toApiError(err);
      const body = JSON.stringify({ message: e.message });
      socket.end(`HTTP/1.1 ${e.status} Error\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
  });
  server.on('connection', (socket) => {
    busy++;
    armIdle();
    socket.on('close', () => {
      busy--;
      armIdle();
    });
  });
  let where: string;
  if (opts.inheritedFd !== undefined) {
    where = `fd ${opts.inheritedFd}`;
    await new Promise<void>((ok, ko) => server.once('error', ko).listen({ fd: opts.inheritedFd }, ok));
  } else {
    const path = socketPathOf(opts.uri!);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    await claimSocketPath(path);
    // 0600 from the start: no moment where another user could connect.
    const old = process.umask(0o177);
    try {
      await new Promise<void>((ok, ko) => server.once('error', ko).listen(path, ok));
    } finally {
      process.umask(old);
    }
    chmodSync(path, 0o600);
    where = path;
    server.on('close', () => rmSync(path, { force: true }));
  }
  recordService(opts.root, where);
  armIdle();
  opts.onListening?.(where);
  const closed = new Promise<void>((ok) => server.on('close', () => ok()));
  return { server, closed };
}

export { ApiError };
