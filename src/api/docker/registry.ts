// Docker's registry endpoints: POST /auth (docker login: the credentials are
// checked against the registry, and kept by the client, not here), the
// X-Registry-Auth header the client sends with a pull or a push, and
// POST /images/{name}/push with docker's progress JSON.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Credentials } from '../../registry/auth-file.js';
import { ApiError, badRequest, readJsonBody, sendJson, toApiError } from './wire.js';
import type { ServiceContext } from './context.js';

/** The client's X-Registry-Auth (base64url JSON): credentials when it names a user, else null (the stored ones apply). */
export function registryAuthOf(req: IncomingMessage): Credentials | null {
  const raw = req.headers['x-registry-auth'];
  if (typeof raw !== 'string' || !raw) return null;
  let parsed: { username?: string; password?: string };
  try {
    parsed = JSON.parse(Buffer.from(raw.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8')) as typeof parsed;
  } catch {
    throw badRequest('X-Registry-Auth is not base64-encoded JSON');
  }
  return parsed.username ? { username: parsed.username, password: parsed.password ?? '' } : null;
}

export async function authJson(_ctx: ServiceContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJsonBody<{ username?: string; password?: string; serveraddress?: string }>(req);
  if (!body?.serveraddress) throw badRequest('serveraddress is required');
  const { verifyLogin } = await import('../../registry/login.js');
  try {
    await verifyLogin(body.serveraddress, { username: body.username ?? '', password: body.password ?? '' });
  } catch (err) {
    const e = toApiError(err);
    throw new ApiError(e.status === 500 || e.status === 400 ? e.status : 401, e.message);
  }
  sendJson(res, 200, { Status: 'Login Succeeded', IdentityToken: '' });
}

/** POST /images/{name}/push?tag=: a push of NAME:TAG to the registry its name gives. */
export async function pushImageJson(ctx: ServiceContext, name: string, q: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const credentials = registryAuthOf(req);
  const ref = `${name}:${q.get('tag') || 'latest'}`;
  const { pushImage } = await import('../../image/push.js');
  res.writeHead(200, { 'Content-Type': 'application/json' });
  const say = (o: object) => res.write(JSON.stringify(o) + '\r\n');
  say({ status: `The push refers to repository [${name}]` });
  try {
    const r = await pushImage(ref, ref, { root: ctx.dataRoot, credentials, onProgress: (line) => say({ status: line }) });
    say({ status: `${q.get('tag') || 'latest'}: digest: ${r.digest}` });
    say({ progressDetail: {}, aux: { Tag: q.get('tag') || 'latest', Digest: r.digest } });
  } catch (err) {
    // The status line is out already: docker's clients read an error object.
    const e = toApiError(err);
    say({ errorDetail: { message: e.message }, error: e.message });
  }
  res.end();
}
