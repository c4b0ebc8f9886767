// A real registry for the tests: Debian's docker-registry (the CNCF
// distribution registry) on 127.0.0.1, a free port, storage in a temp dir,
// from a config this helper writes. Its access log is kept, so a test can
// count which blobs were fetched. Stopped by its pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';

export interface Registry {
  /** host:port */
  host: string;
  port: number;
  log: () => string;
  /** GET requests for blobs (or a given digest) seen so far. */
  blobGets: (digest?: string) => number;
  /** Waits until the registry has logged every request made so far (its log arrives asynchronously). */
  settle: () => Promise<void>;
  stop: () => Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RegistryAuth {
  htpasswd?: string;
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string };
}

export async function startRegistry(dir: string, opts: { auth?: RegistryAuth; tls?: { cert: string; key: string } } = {}): Promise<Registry> {
  mkdirSync(join(dir, 'storage'), { recursive: true });
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  accesslog:',
    '    disabled: false',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'storage')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  secret: nsbox-test-secret',
  ];
  if (opts.tls) lines.push('  tls:', `    certificate: ${opts.tls.cert}`, `    key: ${opts.tls.key}`);
  if (opts.auth?.htpasswd) lines.push('auth:', '  htpasswd:', '    realm: nsbox-test', `    path: ${opts.auth.htpasswd}`);
  if (opts.auth?.token) {
    const t = opts.auth.token;
    lines.push('auth:', '  token:', `    realm: ${t.realm}`, `    service: ${t.service}`, `    issuer: ${t.issuer}`, `    rootcertbundle: ${t.rootCertBundle}`);
  }
  const config = join(dir, 'config.yml');
  writeFileSync(config, lines.join('\n') + '\n');
  const child: ChildProcess = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin', HOME: dir } });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${log}`);
    if (/listening on/i.test(log)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`docker-registry did not start: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const host = `127.0.0.1:${port}`;
  return {
    host,
    port,
    log: () => log,
    blobGets: (digest) => (log.match(new RegExp(`"GET /v2/[^ "]+/blobs/${digest ?? 'sha256:'}`, 'g')) ?? []).length,
    settle: async () => {
      const mark = `settle-${Math.random().toString(16).slice(2)}`;
      await fetch(`${opts.tls ? 'https' : 'http'}://${host}/v2/?${mark}`).catch(() => {});
      const until = Date.now() + 5000;
      while (!log.includes(mark) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    },
    stop: async () => {
      if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGTERM');
      await exited;
    },
  };
}

export type ProxyMode =
  | { kind: 'pass' }
  | { kind: 'stall' | 'truncate' | 'corrupt'; digest: string }
  /** Answers requests whose path contains `path` itself. */
  | { kind: 'answer'; path: string; status: number; headers: Record<string, string>; body: Buffer | string };

/**
 * A plain-HTTP proxy in front of a registry that misbehaves on one blob:
 * stalls it halfway (until stopped), cuts it halfway, or flips a byte.
 */
export async function startFaultyProxy(target: string, mode: () => ProxyMode): Promise<{ host: string; stop: () => Promise<void> }> {
  const open = new Set<ServerResponse>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    open.add(res);
    res.on('close', () => open.delete(res));
    const m = mode();
    if (m.kind === 'answer' && req.url!.includes(m.path)) {
      res.writeHead(m.status, m.headers);
      res.end(m.body);
      return;
    }
    const up = httpRequest(`http://${target}${req.url}`, { method: req.method, headers: { ...req.headers, host: target } }, (ur) => {
      const hit = (m.kind === 'stall' || m.kind === 'truncate' || m.kind === 'corrupt') && req.url!.includes(`/blobs/${m.digest}`) && req.method === 'GET' && ur.statusCode === 200;
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      if (!hit) return void ur.pipe(res);
      if (m.kind === 'pass' || m.kind === 'answer') return;
      const size = Number(ur.headers['content-length'] ?? 0);
      let sent = 0;
      ur.on('data', (c: Buffer) => {
        if (m.kind === 'corrupt') {
          const copy = Buffer.from(c);
          if (sent <= size / 2 && sent + copy.length > size / 2) copy[Math.floor(size / 2) - sent]! ^= 0xff;
          sent += copy.length;
          res.write(copy);
          return;
        }
        const room = Math.floor(size / 2) - sent;
        if (room > 0) res.write(c.subarray(0, room));
        sent += c.length;
        if (sent >= size / 2) {
          ur.destroy();
          if (m.kind === 'truncate') res.destroy();
        }
      });
      ur.on('end', () => m.kind === 'corrupt' && res.end());
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`,
    stop: async () => {
      for (const r of open) r.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
