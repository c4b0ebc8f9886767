// The Docker Engine API's wire habits: JSON bodies, errors as
// {"message": …} with docker's status codes, and the multiplexed stream
// (an 8-byte header per frame: stream, three zero bytes, u32 big-endian
// length) that logs, attach and exec use when there is no TTY.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NsboxError } from '../../errors.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new ApiError(404, what);
export const conflict = (what: string) => new ApiError(409, what);
export const forbidden = (what: string) => new ApiError(403, what);
export const badRequest = (what: string) => new ApiError(400, what);

/** nsbox's errors in docker's terms: which status a code means. */
const STATUS_OF: Record<string, number> = {
  NO_SUCH_CONTAINER: 404,
  NO_SUCH_POD: 404,
  IMAGE_NOT_FOUND: 404,
  NO_SUCH_VOLUME: 404,
  NO_SUCH_NETWORK: 404,
  NETWORK_IN_USE: 409,
  INVALID_NETWORK: 400,
  DUPLICATE_NAME: 409,
  VOLUME_EXISTS: 409,
  VOLUME_IN_USE: 409,
  IMAGE_IN_USE: 409,
  CONTAINER_STATE: 409,
  POD_NOT_RUNNING: 409,
  REGISTRY_AUTH: 401,
  INVALID_ARGUMENT: 400,
  INVALID_NAME: 400,
  INVALID_PORT: 400,
  INVALID_IMAGE_NAME: 400,
};

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof NsboxError || (err instanceof Error && 'code' in err && typeof (err as NsboxError).oneLine === 'function')) {
    const e = err as NsboxError;
    return new ApiError(STATUS_OF[e.code] ?? 500, e.oneLine());
  }
  return new ApiError(500, err instanceof Error ? err.message : String(err));
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status);
  res.end();
}

export async function readBody(req: IncomingMessage, limit = 16 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new ApiError(413, `request body over ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export async function readJsonBody<T>(req: IncomingMessage): Promise<T> {
  const body = await readBody(req);
  if (body.length === 0) return {} as T;
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch {
    throw badRequest('the request body is not valid JSON');
  }
}

/** One frame of the multiplexed stream: 1 stdout, 2 stderr (0 stdin, 3 system error). */
export function frame(stream: 0 | 1 | 2 | 3, data: Buffer | string): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** Query values as docker's clients send booleans: 1, true, True. */
export function flag(q: URLSearchParams, name: string, fallback = false): boolean {
  const v = q.get(name);
  if (v === null) return fallback;
  return v === '1' || v.toLowerCase() === 'true';
}

/** docker's filters parameter: {"label": {"a=b": true}} or {"label": ["a=b"]}. */
export function parseFilters(q: URLSearchParams): Record<string, string[]> {
  const raw = q.get('filters');
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw badRequest('filters is not valid JSON');
  }
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    out[k] = Array.isArray(v) ? v.map(String) : Object.keys(v as object);
  }
  return out;
}
