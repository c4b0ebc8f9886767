// Output streams: /containers/{id}/logs (plain HTTP, chunked) and
// /containers/{id}/attach (hijacked: 101 UPGRADED, then raw bytes), both in
// docker's multiplexed framing, read from the container's log so that what
// an attached client sees is what `logs` shows.
import type { Duplex } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LogEntry } from '../../container/logs.js';
import { findDockerContainer } from './store.js';
import { resolveContainer, type Resolved } from './containers.js';
import { badRequest, conflict, flag, frame, sendEmpty } from './wire.js';
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
  const rec = r.container.record();
  if (rec.tty || rec.openStdin) return relayThroughKeeper(r.container, q, socket, isGone, !fromNow);
  const { streamLogs } = await import('../logs.js');
  const encode = encoder(q);
  await streamLogs(r.container, { follow: true, ...(fromNow ? { tail: 0 } : {}) }, (entries) => {
    if (isGone()) throw new Error('client gone');
    for (const b of encode(entries)) socket.write(b);
  }).catch(() => {});
}

/**
 * -i/-t: the keeper's relay of the container's terminal or stdin pipe. A
 * terminal's output is raw (docker's TTY stream); otherwise it is framed.
 * What the client writes on the hijacked connection is the container's input;
 * the client's half-close ends it (closing the container's stdin when it
 * was made with StdinOnce, as docker's run -i does).
 */
async function relayThroughKeeper(container: NonNullable<Resolved['container']>, q: URLSearchParams, socket: Duplex, isGone: () => boolean, logs: boolean): Promise<void> {
  const tty = !!container.record().tty;
  const attachment = await container.attach({
    stdin: flag(q, 'stdin') && !!container.record().openStdin,
    stdout: flag(q, 'stdout'),
    stderr: flag(q, 'stderr'),
    logs,
    onOutput: (stream, data) => {
      if (!isGone()) socket.write(tty ? data : frame(stream === 'stdout' ? 1 : 2, data));
    },
  });
  const input = attachment.stdin;
  if (input) {
    socket.on('data', (d: Buffer) => input.write(d));
    socket.on('end', () => input.end());
  }
  const gone = new Promise<void>((ok) => socket.once('close', ok));
  await Promise.race([attachment.exited, gone]);
  attachment.close();
}

/** POST /containers/{id}/resize?h=ROWS&w=COLS: its terminal's window size. */
export async function resizeContainer(ctx: ServiceContext, ref: string, q: URLSearchParams, res: ServerResponse): Promise<void> {
  const r = await resolveContainer(ctx, ref);
  const rows = Number(q.get('h'));
  const cols = Number(q.get('w'));
  if (!(rows > 0 && cols > 0)) throw badRequest('resize needs h and w, positive integers');
  if (!r.container) throw conflict(`container ${ref} is not running`);
  await r.container.resize(cols, rows);
  sendEmpty(res, 200);
}
