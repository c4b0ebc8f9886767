// Host ports for tests. Test files run in parallel: a port free now may be
// taken by the time nsbox binds it, so callers that bind retry on
// "address already in use".
import { connect, createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
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
