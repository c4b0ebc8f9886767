// GET /events: the container events of what this service does (create,
// start, kill, die, stop, restart, destroy), kept in memory for `since`,
// streamed as they happen, and ended at `until`, as docker's CLI and
// clients read them (one JSON object per line). One service per process,
// so one bus per process; events before this service started are not known.
import type { ServerResponse } from 'node:http';
import type { DockerContainer } from './store.js';
import { badRequest, parseFilters } from './wire.js';

export interface DockerEvent {
  Type: 'container';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
  /** The pre-1.22 fields docker still sends. */
  status: string;
  id: string;
  from: string;
}

const KEPT = 1000;
const history: DockerEvent[] = [];
const listeners = new Set<(e: DockerEvent) => void>();
/** Nanoseconds, strictly increasing, so that two events of one millisecond keep their order for since/until. */
let lastNs = 0n;

/** Records and broadcasts one event about a container this service made. */
export function emitContainerEvent(action: string, d: Pick<DockerContainer, 'Id' | 'Name' | 'image' | 'options'>, extra: Record<string, string> = {}): void {
  const wall = BigInt(Date.now()) * 1_000_000n;
  const nowNs = (lastNs = wall > lastNs ? wall : lastNs + 1n);
  const labels = (d.options.labels as Record<string, string> | undefined) ?? {};
  const e: DockerEvent = {
    Type: 'container',
    Action: action,
    Actor: { ID: d.Id, Attributes: { ...labels, image: d.image, name: d.Name, ...extra } },
    scope: 'local',
    time: Number(nowNs / 1_000_000_000n),
    timeNano: Number(nowNs),
    status: action,
    id: d.Id,
    from: d.image,
  };
  history.push(e);
  if (history.length > KEPT) history.shift();
  for (const l of listeners) l(e);
}

const FILTERS = ['type', 'event', 'container', 'image', 'label'];

/** docker's since/until: unix seconds with an optional fraction ("1700000000.5"); the CLI turns durations and dates into that. */
function instant(q: URLSearchParams, name: string): number | null {
  const v = q.get(name);
  if (v === null || v === '') return null;
  if (!/^\d+(\.\d+)?$/.test(v)) throw badRequest(`${name} ${JSON.stringify(v)} is not a unix timestamp`);
  return Number(v) * 1e9;
}

function matcher(filters: Record<string, string[]>): (e: DockerEvent) => boolean {
  const unknown = Object.keys(filters).filter((k) => !FILTERS.includes(k));
  if (unknown.length) throw badRequest(`unsupported event filter ${unknown.join(', ')}: nsbox filters events by ${FILTERS.join(', ')}`);
  return (e) =>
    Object.entries(filters).every(([key, values]) =>
      values.some((v) => {
        if (key === 'type') return v === e.Type;
        if (key === 'event') return v === e.Action;
        if (key === 'container') return e.Actor.ID.startsWith(v) || e.Actor.Attributes.name === v.replace(/^\//, '');
        if (key === 'image') return e.from === v;
        const eq = v.indexOf('=');
        return eq < 0 ? v in e.Actor.Attributes : e.Actor.Attributes[v.slice(0, eq)] === v.slice(eq + 1);
      }),
    );
}

export function streamEvents(q: URLSearchParams, res: ServerResponse): Promise<void> {
  const since = instant(q, 'since');
  const until = instant(q, 'until');
  const wanted = matcher(parseFilters(q));
  const inRange = (e: DockerEvent) => (since === null || e.timeNano >= since) && (until === null || e.timeNano <= until);
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  const send = (e: DockerEvent) => {
    if (inRange(e) && wanted(e)) res.write(JSON.stringify(e) + '\n');
  };
  // Past events only when asked for (docker's default starts now).
  if (since !== null) for (const e of history) send(e);
  return new Promise<void>((done) => {
    let timer: NodeJS.Timeout | null = null;
    const end = () => {
      listeners.delete(send);
      if (timer) clearTimeout(timer);
      res.end();
      done();
    };
    res.on('close', end);
    if (until !== null) {
      const left = until / 1e6 - Date.now();
      if (left <= 0) return end();
      timer = setTimeout(end, left);
    }
    listeners.add(send);
  });
}
