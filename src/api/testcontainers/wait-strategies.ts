// Wait strategies, named as testcontainers-node names them: each says when a
// started container is ready, by polling what a WaitTarget shows. Timeouts,
// the container's exit and the error with its last log lines are the
// runner's (wait-runner.ts): a strategy only waits, and says what it waits
// for (describe) when that runs out.
import http from 'node:http';
import { connect } from 'node:net';
import { NsboxError } from '../../errors.js';
import { lineMatches } from '../../core/log-lines.js';
import { ContainerExit, type WaitStrategy, type WaitTarget } from './wait-target.js';

export type { WaitStrategy } from './wait-target.js';
import { runWithin } from './wait-runner.js';

export const DEFAULT_STARTUP_TIMEOUT_MS = 60_000;

export function checkedTimeout(ms: number): number {
  if (!Number.isFinite(ms) || ms <= 0) throw new NsboxError('INVALID_ARGUMENT', `invalid startup timeout ${ms}`, 'give the timeout in milliseconds, more than 0');
  return ms;
}

export abstract class AbstractWaitStrategy implements WaitStrategy {
  protected startupTimeoutMs = DEFAULT_STARTUP_TIMEOUT_MS;
  private startupTimeoutSet = false;
  get awaitsExit(): boolean {
    return false;
  }

  abstract waitUntilReady(target: WaitTarget, signal: AbortSignal): Promise<void>;
  abstract describe(): string;

  withStartupTimeout(startupTimeoutMs: number): this {
    this.startupTimeoutMs = checkedTimeout(startupTimeoutMs);
    this.startupTimeoutSet = true;
    return this;
  }

  isStartupTimeoutSet(): boolean {
    return this.startupTimeoutSet;
  }

  getStartupTimeout(): number {
    return this.startupTimeoutMs;
  }
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });

/**
 * Calls check until it says true, quickly at first (a container is often
 * ready within milliseconds), then backing off to maxMs; returns when
 * signal aborts too (the runner then reports why).
 */
async function poll(signal: AbortSignal, check: () => boolean | Promise<boolean>, maxMs = 100): Promise<void> {
  for (let delay = 1; !signal.aborted; delay = Math.min(delay * 2, maxMs)) {
    if (await check()) return;
    await sleep(delay, signal);
  }
}

function connects(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/**
 * forListeningPorts: every exposed TCP port listens inside the pod (read
 * from the host in /proc/PAUSE/net/tcp*, so images without a shell work
 * too) and accepts a connection through its published host port.
 */
export class HostPortWaitStrategy extends AbstractWaitStrategy {
  private pending: string[] = [];

  async waitUntilReady(target: WaitTarget, signal: AbortSignal): Promise<void> {
    const tcp = target.ports.filter((p) => p.protocol === 'tcp'); // UDP has nothing to connect to
    await poll(signal, async () => {
      const listening = target.listeningPorts();
      const inside = tcp.filter((p) => !listening.has(p.container));
      const results = await Promise.all(tcp.map(async (p) => ({ p, ok: inside.includes(p) || (await connects(target.host, p.host, 1000)) })));
      this.pending = [
        ...inside.map((p) => `${p.container} (nothing listens on it inside the pod)`),
        ...results.filter((r) => !inside.includes(r.p) && !r.ok).map((r) => `${r.p.container} (host port ${r.p.host} refuses connections)`),
      ];
      return this.pending.length === 0 && results.every((r) => r.ok);
    });
  }

  describe(): string {
    return `listening ports: waiting for port ${this.pending.join(', ') || '(none)'}`;
  }
}

interface HttpResponse {
  status: number;
  body: string;
}

/** forHttp(path, port): an HTTP request through the published port answers as the predicates want (default: 2xx). */
export class HttpWaitStrategy extends AbstractWaitStrategy {
  private method = 'GET';
  private headers: Record<string, string> = {};
  private readonly predicates: { what: string; test: (r: HttpResponse) => boolean }[] = [];
  private readTimeoutMs = 1000;
  private last = 'no answer yet';

  constructor(
    private readonly path: string,
    private readonly port: number,
  ) {
    super();
    if (!path.startsWith('/')) throw new NsboxError('INVALID_ARGUMENT', `invalid HTTP path ${JSON.stringify(path)}`, "give the path from /, e.g. Wait.forHttp('/health', 80)");
  }

  forStatusCode(statusCode: number): this {
    this.predicates.push({ what: `status ${statusCode}`, test: (r) => r.status === statusCode });
    return this;
  }

  forStatusCodeMatching(predicate: (statusCode: number) => boolean): this {
    this.predicates.push({ what: 'a status the predicate accepts', test: (r) => predicate(r.status) });
    return this;
  }

  forResponsePredicate(predicate: (body: string) => boolean): this {
    this.predicates.push({ what: 'a body the predicate accepts', test: (r) => predicate(r.body) });
    return this;
  }

  withMethod(method: string): this {
    this.method = method;
    return this;
  }

  withHeaders(headers: Record<string, string>): this {
    this.headers = { ...this.headers, ...headers };
    return this;
  }

  withBasicCredentials(username: string, password: string): this {
    return this.withHeaders({ Authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` });
  }

  withReadTimeout(readTimeoutMs: number): this {
    this.readTimeoutMs = readTimeoutMs;
    return this;
  }

  async waitUntilReady(target: WaitTarget, signal: AbortSignal): Promise<void> {
    const hostPort = target.mappedPort(this.port);
    await poll(signal, async () => {
      const r = await this.request(target.host, hostPort, signal);
      if (!r) return false;
      this.last = `last answer: status ${r.status}`;
      return this.predicates.length ? this.predicates.every((p) => p.test(r)) : r.status >= 200 && r.status < 300;
    });
  }

  private request(host: string, port: number, signal: AbortSignal): Promise<HttpResponse | null> {
    return new Promise((resolve) => {
      // agent false: a fresh connection each time, closed after it (nothing pooled keeps this process alive).
      const req = http.request({ host, port, path: this.path, method: this.method, headers: this.headers, agent: false, signal, timeout: this.readTimeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', () => resolve(null));
      });
      let timedOut = false;
      req.on('timeout', () => {
        timedOut = true;
        req.destroy();
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (!signal.aborted) this.last = timedOut ? `no answer within ${this.readTimeoutMs} ms` : `last attempt: ${err.code ?? err.message}`;
        resolve(null);
      });
      req.end();
    });
  }

  describe(): string {
    const want = this.predicates.length ? this.predicates.map((p) => p.what).join(' and ') : 'a 2xx status';
    return `HTTP ${this.method} ${this.path} on port ${this.port}: waiting for ${want} (${this.last})`;
  }
}

/** forLogMessage(message, times): the log of this start has that many matching lines (stdout and stderr). */
export class LogWaitStrategy extends AbstractWaitStrategy {
  private seen = 0;

  constructor(
    private readonly message: string | RegExp,
    private readonly times = 1,
  ) {
    super();
    if (!Number.isInteger(times) || times < 1) throw new NsboxError('INVALID_ARGUMENT', `invalid count ${times} for Wait.forLogMessage`, 'give how many times the message must appear: 1 or more');
  }

  async waitUntilReady(target: WaitTarget, signal: AbortSignal): Promise<void> {
    const log = target.openLog();
    this.seen = 0;
    try {
      await poll(
        signal,
        () => {
          // At the container's exit, its unfinished last line counts too.
          const lines = log.next(target.exitCode() !== null);
          this.seen += lines.filter((l) => lineMatches(this.message, l)).length;
          return this.seen >= this.times;
        },
        20,
      );
    } finally {
      log.close();
    }
  }

  describe(): string {
    return `log message ${String(this.message instanceof RegExp ? this.message : JSON.stringify(this.message))}: waiting for it ${this.times} time(s), seen ${this.seen}`;
  }
}

/** forSuccessfulCommand(command): `/bin/sh -c command` inside the container exits 0. */
export class ShellWaitStrategy extends AbstractWaitStrategy {
  private last = 'not run yet';

  constructor(private readonly command: string) {
    super();
  }

  async waitUntilReady(target: WaitTarget, signal: AbortSignal): Promise<void> {
    await poll(
      signal,
      async () => {
        // One that cannot run (the container is exiting) is a failed try: the runner reports the exit.
        const r = await target.exec(['/bin/sh', '-c', this.command], { timeoutMs: this.startupTimeoutMs }).catch((err: unknown) => {
          if (!(err instanceof NsboxError)) throw err;
          this.last = `last try: ${err.message}`;
          return null;
        });
        if (!r) return false;
        const err = r.stderr.trim().split('\n').pop();
        this.last = `last exit code ${r.exitCode}${err ? `: ${err}` : ''}`;
        return r.exitCode === 0;
      },
      250,
    );
  }

  describe(): string {
    return `command ${JSON.stringify(this.command)}: waiting for exit code 0 (${this.last})`;
  }
}

/** forHealthCheck: its health check (withHealthCheck, or the image's) says healthy; unhealthy fails at once. */
export class HealthCheckWaitStrategy extends AbstractWaitStrategy {
  private last: string = 'no result yet';

  async waitUntilReady(target: WaitTarget, signal: AbortSignal): Promise<void> {
    if (target.health() === null) throw new NsboxError('WAIT_NO_HEALTHCHECK', `${target.ref} has no health check to wait for`, 'add .withHealthCheck({ test: ["CMD-SHELL", "…"] }), or use another wait strategy');
    await poll(
      signal,
      async () => {
        const h = target.health();
        this.last = h ?? 'gone';
        if (h === 'unhealthy') throw new NsboxError('WAIT_UNHEALTHY', `${target.ref} is unhealthy`, 'see its health log with `nsbox inspect --format "{{json .State.Health}}"`');
        return h === 'healthy';
      },
      100,
    );
  }

  describe(): string {
    return `its health check: waiting for healthy (now ${this.last})`;
  }
}

/** forOneShotStartup: the container runs to its end and exits 0 (a non-zero exit fails at once). */
export class OneShotStartupCheckStrategy extends AbstractWaitStrategy {
  override get awaitsExit(): boolean {
    return true;
  }

  async waitUntilReady(target: WaitTarget, signal: AbortSignal): Promise<void> {
    let code: number | null = null;
    await poll(signal, () => (code = target.exitCode()) !== null, 20);
    if (code !== null && code !== 0) throw new ContainerExit(code, 'it ran once but failed');
  }

  describe(): string {
    return 'one-shot startup: waiting for the container to exit 0';
  }
}

/** forAll: every strategy at once, each with its own timeout; the first failure fails all. */
export class CompositeWaitStrategy extends AbstractWaitStrategy {
  constructor(private readonly waitStrategies: WaitStrategy[]) {
    super();
  }

  override get awaitsExit(): boolean {
    return this.waitStrategies.some((s) => s.awaitsExit);
  }

  async waitUntilReady(target: WaitTarget, signal: AbortSignal): Promise<void> {
    await Promise.all(this.waitStrategies.map((s) => runWithin(s, target, signal)));
  }

  private deadline: number | null = null;

  /** As testcontainers: given to each strategy without a timeout of its own (the whole has none but withDeadline's). */
  override withStartupTimeout(startupTimeoutMs: number): this {
    super.withStartupTimeout(startupTimeoutMs);
    for (const s of this.waitStrategies) if (!s.isStartupTimeoutSet()) s.withStartupTimeout(startupTimeoutMs);
    return this;
  }

  /** A limit for the whole, beside each strategy's own. */
  withDeadline(deadlineMs: number): this {
    this.deadline = checkedTimeout(deadlineMs);
    return this;
  }

  override getStartupTimeout(): number {
    return this.deadline ?? Infinity;
  }

  describe(): string {
    return `all of: ${this.waitStrategies.map((s) => s.describe()).join('; ')}`;
  }
}

/** The factory testcontainers' users know. */
export class Wait {
  static forAll(waitStrategies: WaitStrategy[]): CompositeWaitStrategy {
    return new CompositeWaitStrategy(waitStrategies);
  }

  static forListeningPorts(): HostPortWaitStrategy {
    return new HostPortWaitStrategy();
  }

  static forLogMessage(message: string | RegExp, times = 1): LogWaitStrategy {
    return new LogWaitStrategy(message, times);
  }

  static forOneShotStartup(): OneShotStartupCheckStrategy {
    return new OneShotStartupCheckStrategy();
  }

  static forHttp(path: string, port: number): HttpWaitStrategy {
    return new HttpWaitStrategy(path, port);
  }

  static forSuccessfulCommand(command: string): ShellWaitStrategy {
    return new ShellWaitStrategy(command);
  }

  static forHealthCheck(): HealthCheckWaitStrategy {
    return new HealthCheckWaitStrategy();
  }
}
