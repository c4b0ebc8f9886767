// Docker's volume endpoints on nsbox's named volumes: list (with the name,
// label and dangling filters), create (idempotent, as docker's is), inspect,
// remove and prune. Unlike `nsbox volume rm -f`, docker's force never
// removes the containers that use a volume: it only forgives a missing one.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { VolumeInspection } from '../volumes.js';
import { badRequest, conflict, flag, parseFilters, readJsonBody, sendEmpty, sendJson } from './wire.js';
import type { ServiceContext } from './context.js';

const FILTERS = ['name', 'label', 'dangling'];

const lib = () => import('../volumes.js');
const roots = (ctx: ServiceContext) => ({ root: ctx.dataRoot, stateRoot: ctx.root });

function dockerVolume(v: VolumeInspection) {
  return { Name: v.Name, Driver: v.Driver, Mountpoint: v.Mountpoint, CreatedAt: v.CreatedAt, Labels: v.Labels, Scope: v.Scope, Options: v.Options, UsageData: { Size: -1, RefCount: v.MountCount } };
}

function matches(v: VolumeInspection, filters: Record<string, string[]>): boolean {
  return Object.entries(filters).every(([key, values]) =>
    values.some((want) => {
      if (key === 'name') return v.Name.includes(want);
      if (key === 'dangling') return (v.MountCount === 0) === (want === 'true' || want === '1');
      const eq = want.indexOf('=');
      return eq < 0 ? want in v.Labels : v.Labels[want.slice(0, eq)] === want.slice(eq + 1);
    }),
  );
}

export async function listVolumesJson(ctx: ServiceContext, q: URLSearchParams, res: ServerResponse): Promise<void> {
  const filters = parseFilters(q);
  const unknown = Object.keys(filters).filter((k) => !FILTERS.includes(k));
  if (unknown.length) throw badRequest(`unsupported filter ${unknown.join(', ')}: nsbox filters volumes by ${FILTERS.join(', ')}`);
  const { listVolumes } = await lib();
  sendJson(res, 200, { Volumes: listVolumes(roots(ctx)).filter((v) => matches(v, filters)).map(dockerVolume), Warnings: [] });
}

interface CreateBody {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export async function createVolumeJson(ctx: ServiceContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = ((await readJsonBody(req)) ?? {}) as CreateBody;
  if (body.Driver && body.Driver !== 'local') throw badRequest(`volume driver ${JSON.stringify(body.Driver)} is not supported: nsbox has the local driver only`);
  if (body.DriverOpts && Object.keys(body.DriverOpts).length)
    throw badRequest(`volume options (${Object.keys(body.DriverOpts).join(', ')}) are not supported: nsbox volumes are plain directories`);
  const { createVolume } = await lib();
  const v = await createVolume(body.Name || undefined, { ...roots(ctx), labels: body.Labels ?? {}, ignoreExisting: true });
  sendJson(res, 201, dockerVolume(v));
}

export async function inspectVolumeJson(ctx: ServiceContext, name: string, res: ServerResponse): Promise<void> {
  const { inspectVolume } = await lib();
  sendJson(res, 200, dockerVolume(inspectVolume(name, roots(ctx))));
}

export async function removeVolumeJson(ctx: ServiceContext, name: string, q: URLSearchParams, res: ServerResponse): Promise<void> {
  const { inspectVolume, removeVolume, volumeExists } = await lib();
  if (!volumeExists(name, roots(ctx)) && flag(q, 'force')) return sendEmpty(res, 204);
  const v = inspectVolume(name, roots(ctx));
  if (v.UsedBy.length) throw conflict(`remove ${name}: volume is in use - [${v.UsedBy.join(', ')}]`);
  await removeVolume(name, roots(ctx));
  sendEmpty(res, 204);
}

export async function pruneVolumesJson(ctx: ServiceContext, q: URLSearchParams, res: ServerResponse): Promise<void> {
  const filters = parseFilters(q);
  const unknown = Object.keys(filters).filter((k) => k !== 'label');
  if (unknown.length) throw badRequest(`unsupported prune filter ${unknown.join(', ')}: nsbox prunes volumes by label`);
  const { pruneVolumes } = await lib();
  const removed = await pruneVolumes({ ...roots(ctx), filters: (filters.label ?? []).map((l) => `label=${l}`) });
  sendJson(res, 200, { VolumesDeleted: removed, SpaceReclaimed: 0 });
}
