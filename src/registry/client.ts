// A client of one registry (the OCI distribution API, /v2/), on undici's
// fetch with a dispatcher of our own: the TLS trust is per registry
// (--cert-dir, --tls-verify=false), which Node 20's global fetch cannot be
// given. HTTPS first; plain HTTP only when allowed (--tls-verify=false, or a
// loopback host, as docker allows) and the HTTPS attempt failed to connect.
// Auth: on a 401 the WWW-Authenticate challenge decides: Bearer (a token from
// the realm, anonymous or with the stored credentials: docker.io, ghcr.io,
// quay.io) or Basic (the stored credentials).
import { readdirSync, readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { join } from 'node:path';
import type { Agent, fetch as undiciFetch, Response } from 'undici';
import { NsboxError } from '../errors.js';
import type { Credentials } from './auth-file.js';
import { isLoopbackHost } from './reference.js';

export interface RegistryOptions {
  /** false: accept any certificate, and plain HTTP. */
  tlsVerify?: boolean;
  /** A directory of CA certificates (*.crt) to trust beside the system's. */
  certDir?: string;
  credentials?: Credentials | null;
  signal?: AbortSignal;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (and `Basic realm="…"`). */
export function parseChallenge(header: string): Challenge | null {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return null;
  const params: Record<string, string> = {};
  const re = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2]!))) params[p[1]!.toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  return { scheme: m[1]!.toLowerCase(), params };
}

function caFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new NsboxError('CERT_DIR', `cannot read --cert-dir ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'give a directory holding the registry CA as *.crt');
  }
  return names.filter((n) => n.endsWith('.crt')).map((n) => readFileSync(join(dir, n), 'utf8'));
}

/** What a connection failure was, from undici's error and its cause. */
function describeFailure(err: unknown): { code: string; text: string } {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (err as { code?: string }).code ?? '';
  const raw = cause?.message ?? (err as Error).message ?? String(err);
  // OpenSSL's messages span lines with a hex prefix and a source path; its reason ("wrong version number") is what helps.
  const ssl = /:SSL routines:[^:]*:([^:\n]+)/.exec(raw);
  const text = ssl ? `${ssl[1]}${code === 'ERR_SSL_WRONG_VERSION_NUMBER' ? ' (it does not speak TLS there)' : ''}` : raw.replace(/\s+/g, ' ').trim();
  return { code, text };
}

const CERT_CODES = /^(UNABLE_TO|SELF_SIGNED|DEPTH_ZERO|CERT_|ERR_CERT|ERR_TLS_CERT|HOSTNAME_MISMATCH)/;
const TLS_CODES = /^(ERR_SSL|EPROTO|ERR_TLS|UNABLE_TO|SELF_SIGNED|DEPTH_ZERO|CERT_|ERR_CERT)/;

export class RegistryClient {
  private scheme: 'https' | 'http' | null = null;
  private dispatcher: Agent | null = null;
  private readonly connectOptions: { rejectUnauthorized: boolean; ca?: string[] };
  private undici: { Agent: typeof Agent; fetch: typeof undiciFetch } | null = null;
  private readonly tokens = new Map<string, string>();
  private basic = false;

  constructor(
    readonly host: string,
    private readonly opts: RegistryOptions = {},
  ) {
    const verify = opts.tlsVerify !== false;
    let ca: string[] | undefined;
    if (opts.certDir) {
      ca = [...rootCertificates, ...caFiles(opts.certDir)];
      const extra = process.env.NODE_EXTRA_CA_CERTS;
      if (extra) {
        try {
          ca.push(readFileSync(extra, 'utf8'));
        } catch {
          // Node warned about it at startup
        }
      }
    }
    this.connectOptions = { rejectUnauthorized: verify, ...(ca ? { ca } : {}) };
  }

  private get plainAllowed(): boolean {
    return this.opts.tlsVerify === false || isLoopbackHost(this.host);
  }

  async close(): Promise<void> {
    await this.dispatcher?.close().catch(() => {});
  }

  private async send(url: string, init: { method: string; headers: Record<string, string>; body?: Buffer | Uint8Array | AsyncIterable<Uint8Array> }): Promise<Response> {
    // undici is loaded on the first request: the image verbs that never talk to a registry do not pay for it.
    const undici = (this.undici ??= (await import('undici')) as unknown as { Agent: typeof Agent; fetch: typeof undiciFetch });
    const dispatcher = (this.dispatcher ??= new undici.Agent({ connect: this.connectOptions, headersTimeout: 60_000, bodyTimeout: 60_000 }));
    const streamed = init.body !== undefined && !(init.body instanceof Uint8Array);
    return undici.fetch(url, { ...init, dispatcher, signal: this.opts.signal, redirect: 'follow', ...(streamed ? { duplex: 'half' } : {}) } as Parameters<typeof undiciFetch>[1]);
  }

  /** The scheme chosen by the first request ("https" or "http"). */
  get baseUrl(): string {
    return `${this.scheme ?? 'https'}://${this.host}`;
  }

  private connectError(err: unknown, scheme: string): NsboxError {
    if ((err as Error).name === 'AbortError' || this.opts.signal?.aborted) return new NsboxError('INTERRUPTED', `the request to ${this.host} was interrupted`, 'run it again: what was verified is kept');
    const { code, text } = describeFailure(err);
    if (/redirect count exceeded/i.test(text)) return new NsboxError('REGISTRY_REDIRECTS', `${this.host} redirected too many times (a redirect loop)`, 'the registry is misconfigured; check its URL');
    if (scheme === 'https' && TLS_CODES.test(code))
      return new NsboxError(
        'REGISTRY_TLS',
        `TLS with ${this.host} failed: ${text}`,
        this.plainAllowed ? 'give its CA with --cert-dir DIR (or NODE_EXTRA_CA_CERTS)' : 'give its CA with --cert-dir DIR (or NODE_EXTRA_CA_CERTS); if it serves plain HTTP, use --tls-verify=false',
      );
    return new NsboxError('REGISTRY_UNREACHABLE', `cannot reach ${this.host}: ${code || text}`, 'check the registry name and that it is up');
  }

  /** Sends a request, choosing the scheme on the first one and following the auth challenge once. */
  /** `path` may be a full URL on this registry (an upload Location). A streamed body is sent once: authenticate first with a request without one. */
  async request(path: string, o: { method?: string; headers?: Record<string, string>; scope?: string; body?: Buffer | AsyncIterable<Uint8Array> } = {}): Promise<Response> {
    const method = o.method ?? 'GET';
    const go = async (): Promise<Response> => {
      const headers = { ...(o.headers ?? {}), ...this.authHeader(o.scope) };
      if (/^https?:\/\//.test(path)) {
        const u = new URL(path);
        if (u.host !== this.host) throw new NsboxError('REGISTRY_ERROR', `${this.host} sent an upload location on another host (${u.host})`, 'the registry is misconfigured');
        try {
          return await this.send(path, { method, headers, body: o.body });
        } catch (err) {
          throw this.connectError(err, u.protocol.slice(0, -1));
        }
      }
      if (this.scheme) {
        try {
          return await this.send(`${this.scheme}://${this.host}${path}`, { method, headers, body: o.body });
        } catch (err) {
          throw this.connectError(err, this.scheme);
        }
      }
      try {
        const r = await this.send(`https://${this.host}${path}`, { method, headers, body: o.body });
        this.scheme = 'https';
        return r;
      } catch (err) {
        // Plain HTTP only for a server that does not speak TLS; one whose certificate failed does.
        if (!this.plainAllowed || this.opts.signal?.aborted || CERT_CODES.test(describeFailure(err).code)) throw this.connectError(err, 'https');
        try {
          const r = await this.send(`http://${this.host}${path}`, { method, headers, body: o.body });
          this.scheme = 'http';
          return r;
        } catch (err2) {
          throw this.connectError(err2, 'http');
        }
      }
    };
    let res = await go();
    if (res.status === 401) {
      const challenge = parseChallenge(res.headers.get('www-authenticate') ?? '');
      await res.body?.cancel().catch(() => {});
      if (!challenge) throw this.unauthorized('it gave no WWW-Authenticate challenge');
      await this.authenticate(challenge, o.scope);
      res = await go();
      if (res.status === 401) {
        await res.body?.cancel().catch(() => {});
        throw this.unauthorized(this.opts.credentials ? 'the stored credentials were refused' : 'it wants credentials');
      }
    }
    return res;
  }

  unauthorized(why: string): NsboxError {
    return new NsboxError('REGISTRY_UNAUTHORIZED', `${this.host} refused access (401: ${why})`, `log in with \`nsbox login ${this.host}\``);
  }

  private authHeader(scope?: string): Record<string, string> {
    const token = this.tokens.get(scope ?? '') ?? this.tokens.get('*');
    if (token) return { authorization: `Bearer ${token}` };
    if (this.basic && this.opts.credentials) return { authorization: `Basic ${Buffer.from(`${this.opts.credentials.username}:${this.opts.credentials.password}`).toString('base64')}` };
    return {};
  }

  private async authenticate(challenge: Challenge, scope?: string): Promise<void> {
    if (challenge.scheme === 'basic') {
      if (!this.opts.credentials) throw this.unauthorized('it wants a user name and password');
      this.basic = true;
      return;
    }
    if (challenge.scheme !== 'bearer') throw this.unauthorized(`it asks for ${challenge.scheme} auth, which nsbox does not speak`);
    const realm = challenge.params.realm;
    if (!realm) throw this.unauthorized('its Bearer challenge names no realm');
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw this.unauthorized(`its token realm ${JSON.stringify(realm)} is not a URL`);
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && (this.plainAllowed || isLoopbackHost(url.host))))
      throw new NsboxError('REGISTRY_TLS', `${this.host}'s token realm ${realm} is plain HTTP`, 'use --tls-verify=false if you trust this network');
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    const wanted = scope ?? challenge.params.scope;
    if (wanted) url.searchParams.set('scope', wanted);
    const headers: Record<string, string> = {};
    if (this.opts.credentials) headers.authorization = `Basic ${Buffer.from(`${this.opts.credentials.username}:${this.opts.credentials.password}`).toString('base64')}`;
    let res: Response;
    try {
      res = await this.send(url.toString(), { method: 'GET', headers });
    } catch (err) {
      throw this.connectError(err, url.protocol.slice(0, -1));
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel().catch(() => {});
      throw this.unauthorized(this.opts.credentials ? 'the token server refused the stored credentials' : 'the token server wants credentials');
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new NsboxError('REGISTRY_AUTH', `the token server of ${this.host} answered ${res.status}`, 'try again later, or check the registry');
    }
    const body = await readBounded(res, 1 << 20, `the token from ${url.host}`);
    let token: unknown;
    try {
      const j = JSON.parse(body.toString('utf8')) as { token?: unknown; access_token?: unknown };
      token = j.token ?? j.access_token;
    } catch {
      token = undefined;
    }
    if (typeof token !== 'string' || !token) throw new NsboxError('REGISTRY_AUTH', `the token server of ${this.host} sent no token`, 'check the registry');
    this.tokens.set(scope ?? '*', token);
  }
}

/** The body, at most `max` bytes (a larger one is refused before it is read whole). */
export async function readBounded(res: Response, max: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > max) {
    await res.body?.cancel().catch(() => {});
    throw new NsboxError('REGISTRY_TOO_LARGE', `${what} is ${declared} bytes, more than the ${max} nsbox accepts`, 'the registry is hostile or misconfigured');
  }
  const chunks: Buffer[] = [];
  let n = 0;
  if (res.body)
    for await (const c of res.body as AsyncIterable<Uint8Array>) {
      n += c.length;
      if (n > max) {
        await res.body.cancel().catch(() => {});
        throw new NsboxError('REGISTRY_TOO_LARGE', `${what} is more than the ${max} bytes nsbox accepts`, 'the registry is hostile or misconfigured');
      }
      chunks.push(Buffer.from(c));
    }
  return Buffer.concat(chunks);
}
