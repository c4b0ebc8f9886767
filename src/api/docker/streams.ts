// Output streams: /containers/{id}/logs (plain HTTP, chunked) and
// /containers/{id}/attach (hijacked: 101 UPGRADED, then raw bytes), both in
// docker's multiplexed framing, read from the container's log so that what
// an attached client sees is what `logs` shows.
import type { Duplex } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LogEntry } from '../../container/logs.js';
import { findDockerContainer } from './store.js';
import { resolveContainer, type Resolved } from './containers.js';
import { flag, frame } from './wire.js';
import type { ServiceContext } from './context.js';

function encoder(q: URLSearchParams) {
  const wantOut = flag(q, 'stdout');
  const wantErr = flag(q, 'stderr');
  const stamps = flag(q, 'timestamps');
  // since/until: unix seconds (docker's CLI turns durations and dates into them); 0 is "from the start".
  const since = Number(q.get('since') ?? 0) * 1000;
  const until = Number(q.get('until') ?? 0) * 1000;
  const inTime = (e: LogEntry) => (!since || Date.parse(e.time) >= since) && (!until || Date.parse(e.time) <= until);
  return (entries: LogEntry[]): Buffer[] =>
    entries
      .filter((e) => (e.stream === 'stdout' ? wantOut : wantErr) && inTime(e))
      .map((e) => frame(e.stream === 'stdout' ? 1 : 2, stamps ? `${e.time} ${e.log}` : e.log));
}

/** Waits until the container has been started (attach comes before start). */
async function started(ctx: ServiceContext, r: Resolved, isGone: () => boolean): Promise<Resolved | null> {
  while (r.docker && !r.docker.started) {
    if (isGone()) return null;
    await new Promise((ok) => setTimeout(ok, 20));
    if (!findDockerContainer(ctx.root, r.docker.Id)) return null;
    r = await resolveContainer(ctx, r.docker.Id);
  }
  return r;
}

export async function containerLogs(ctx: ServiceContext, ref: string, q: URLSearchParams, res: ServerResponse): Promise<void> {
  const r = await resolveContainer(ctx, ref);
  res.writeHead(200, { 'Content-Type': 'application/vnd.docker.multiplexed-stream' });
  if (!r.container) return void res.end();
  const { streamLogs } = await import('../logs.js');
  const encode = encoder(q);
  const tail = q.get('tail');
  let closed = false;
  res.on('close', () => (closed = true));
  await streamLogs(r.container, { follow: flag(q, 'follow'), ...(tail && tail !== 'all' && Number(tail) >= 0 ? { tail: Number(tail) } : {}) }, (entries) => {
    if (closed) throw new Error('client gone');
    for (const b of encode(entries)) res.write(b);
  }).catch((err) => {
    if (!closed) throw err;
  });
  res.end();
}

/** POST /containers/{id}/attach on a hijacked connection: output until the container exits. */
export async function attachContainer(ctx: ServiceContext, ref: string, q: URLSearchParams, req: IncomingMessage, socket: Duplex, upgraded = true): Promise<void> {
  const r0 = await resolveContainer(ctx, ref);
  if (upgraded) socket.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
  let gone = false;
  socket.on('close', () => (gone = true));
  socket.on('error', () => (gone = true));
  req.resume();
  const id = r0.docker?.Id;
  let finished = () => {};
  const streaming = new Promise<void>((ok) => (finished = ok));
  if (id) {
    if (!ctx.attached.has(id)) ctx.attached.set(id, new Set());
    ctx.attached.get(id)!.add(streaming);
  }
  try {
    await streamOutput(ctx, r0, q, socket, () => gone);
  } finally {
    finished();
    if (id) ctx.attached.get(id)?.delete(streaming);
    socket.end();
  }
}

async function streamOutput(ctx: ServiceContext, r0: Resolved, q: URLSearchParams, socket: Duplex, isGone: () => boolean): Promise<void> {
  // Attached before start: everything it prints; after: only what comes next (unless logs=1).
  const fromNow = !(r0.docker && !r0.docker.started) && !flag(q, 'logs');
  const r = await started(ctx, r0, isGone);
  if (!r?.container || !flag(q, 'stream', true)) return;
  const { streamLogs } = await import('../logs.js');
  const encode = encoder(q);
  await streamLogs(r.container, { follow: true, ...(fromNow ? { tail: 0 } : {}) }, (entries) => {
    if (isGone()) throw new Error('client gone');
    for (const b of encode(entries)) socket.write(b);
  }).catch(() => {});
}
