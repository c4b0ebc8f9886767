// Host ports for tests. Test files run in parallel: a port free now may be
// taken by the time nsbox binds it, so callers that bind retry on
// "address already in use".
import { connect, createServer, type Server } from 'node:net';

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Listens on 127.0.0.1:port; resolves the server, or null if the port is taken. */
function tryListen(port: number): Promise<Server | null> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(null));
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

/** The first of `count` consecutive TCP ports on 127.0.0.1 that nothing listens on right now. */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await freePort();
    if (first + count - 1 > 65535) continue;
    const held = await Promise.all(Array.from({ length: count }, (_, i) => tryListen(first + i)));
    await Promise.all(held.map((s) => s && new Promise((r) => s.close(r))));
    if (held.every(Boolean)) return first;
  }
  throw new Error(`no ${count} consecutive free ports on 127.0.0.1`);
}

/**
 * How a TCP connection to 127.0.0.1:port ends: 'connected', the error code
 * (ECONNREFUSED: nothing listens), or 'timeout' after `timeoutMs`.
 */
export function connectOutcome(port: number, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => (s.destroy(), resolve('timeout')), timeoutMs);
    s.on('connect', () => (clearTimeout(timer), s.destroy(), resolve('connected')));
    s.on('error', (e: NodeJS.ErrnoException) => (clearTimeout(timer), resolve(e.code ?? String(e))));
  });
}

/** True only if a connection to 127.0.0.1:port is refused (nothing listens); any other failure is false. */
export async function portRefused(port: number): Promise<boolean> {
  return (await connectOutcome(port)) === 'ECONNREFUSED';
}

/** The body of GET `url`, retried until the server answers (a service starting up) or `timeoutMs` passes. */
export async function fetchWhenUp(url: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await (await fetch(url)).text();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`GET ${url}: no answer in ${timeoutMs} ms: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
