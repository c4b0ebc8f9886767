// GET /containers/json (with docker's filters) and /containers/{id}/json.
import type { ServerResponse } from 'node:http';
import { listDockerContainers } from './store.js';
import { resolveContainer, dockerState, type Resolved } from './containers.js';
import { inspection, listEntry } from './view.js';
import { badRequest, flag, parseFilters, sendJson } from './wire.js';
import type { ServiceContext } from './context.js';

const FILTERS = ['label', 'name', 'status', 'id'];

async function everyContainer(ctx: ServiceContext): Promise<Resolved[]> {
  const { listContainerRecords } = await import('../../container/list.js');
  const mine = listDockerContainers(ctx.root);
  const out: Resolved[] = [];
  for (const d of mine) out.push(await resolveContainer(ctx, d.Id).catch(() => ({ docker: d, pod: null, container: null })));
  const claimed = new Set(mine.filter((d) => d.container).map((d) => `${d.pod}/${d.container}`));
  for (const r of listContainerRecords(ctx.root)) {
    if (!claimed.has(`${r.podName}/${r.name}`)) out.push(await resolveContainer(ctx, r.id));
  }
  return out;
}

function matches(entry: ReturnType<typeof listEntry>, filters: Record<string, string[]>): boolean {
  for (const [key, values] of Object.entries(filters)) {
    // As docker: every label filter must hold; the other keys match any of their values.
    const ok = values[key === 'label' ? 'every' : 'some']((v) => {
      if (key === 'id') return entry.Id.startsWith(v);
      if (key === 'name') return entry.Names.some((n) => n.slice(1).includes(v.replace(/^\//, '')));
      if (key === 'status') return entry.State === v;
      const eq = v.indexOf('=');
      return eq < 0 ? v in entry.Labels : entry.Labels[v.slice(0, eq)] === v.slice(eq + 1);
    });
    if (!ok) return false;
  }
  return true;
}

export async function listContainersJson(ctx: ServiceContext, q: URLSearchParams, res: ServerResponse): Promise<void> {
  const filters = parseFilters(q);
  const unknown = Object.keys(filters).filter((k) => !FILTERS.includes(k));
  if (unknown.length) throw badRequest(`unsupported filter ${unknown.join(', ')}: nsbox filters containers by ${FILTERS.join(', ')}`);
  // A status filter lists stopped containers too, as docker's does.
  const all = flag(q, 'all') || 'status' in filters;
  const limit = Number(q.get('limit') ?? -1);
  let entries = (await everyContainer(ctx)).map(listEntry).filter((e) => (all || e.State === 'running' || e.State === 'restarting') && matches(e, filters));
  entries = entries.sort((a, b) => b.Created - a.Created);
  if (limit > 0) entries = entries.slice(0, limit);
  sendJson(res, 200, entries);
}

export async function inspectContainerJson(ctx: ServiceContext, ref: string, res: ServerResponse): Promise<void> {
  sendJson(res, 200, inspection(await resolveContainer(ctx, ref)));
}

export async function topContainer(ctx: ServiceContext, ref: string, res: ServerResponse): Promise<void> {
  const r = await resolveContainer(ctx, ref);
  if (dockerState(r) !== 'running' || !r.container) throw badRequest(`Container ${ref} is not running`);
  const { containerTop } = await import('../top.js');
  const titles = ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'];
  const rows = containerTop(r.container).map((p) => [String(p.USER), String(p.PID), String(p.PPID), String(p['%CPU']), String(p.ELAPSED), String(p.TTY), String(p.TIME), String(p.COMMAND)]);
  sendJson(res, 200, { Titles: titles, Processes: rows });
}
