// The testcontainers-shaped builder: `new GenericContainer(image)` and its
// with…() methods describe a container; start() makes a pod for it (this
// process supervises it, so it dies with this process however that ends),
// runs it, waits with its strategy and returns the started container.
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NsboxError } from '../../errors.js';
import { duplicatePort, parseExposedPort, publishSpec, type ExposedPort, type PortWithOptionalBinding } from '../../core/exposed-ports.js';
import { generateContainerName } from '../../container/run.js';
import { statePaths } from '../../state/paths.js';
import { createPod } from '../create-pod.js';
import type { Pod } from '../pod.js';
import { HOST_IP, StartedGenericContainer } from './started-container.js';
import { checkedTimeout, Wait, type WaitStrategy } from './wait-strategies.js';

export type BindMode = 'rw' | 'ro' | 'z' | 'Z';
export interface BindMount {
  /** An absolute host path (or ./relative to the working directory). */
  source: string;
  target: string;
  mode?: BindMode;
}
export interface FileToCopy {
  source: string;
  target: string;
  mode?: number;
}
export interface ContentToCopy {
  content: string | Buffer;
  target: string;
  mode?: number;
}
/** { '/run': 'size=64m,mode=1777' } */
export type TmpFs = Record<string, string>;

/** Everything start() needs, resolved (the name chosen). */
export interface ContainerSpec {
  image: string;
  name: string;
  command?: string[];
  entrypoint?: string[];
  env: Record<string, string>;
  ports: ExposedPort[];
  labels: Record<string, string>;
  user?: string;
  workdir?: string;
  binds: BindMount[];
  tmpfs: TmpFs;
  copies: (FileToCopy | ContentToCopy)[];
  waitStrategy: WaitStrategy;
  hostname?: string;
  root?: string;
  healthCheck?: HealthCheck;
}

/** testcontainers' withHealthCheck: docker's Test, times in ms. */
export interface HealthCheck {
  test: string[];
  interval?: number;
  timeout?: number;
  retries?: number;
  startPeriod?: number;
}

export class GenericContainer {
  private name?: string;
  private command?: string[];
  private entrypoint?: string[];
  private env: Record<string, string> = {};
  private ports: ExposedPort[] = [];
  private labels: Record<string, string> = {};
  private user?: string;
  private workdir?: string;
  private binds: BindMount[] = [];
  private tmpfs: TmpFs = {};
  private copies: (FileToCopy | ContentToCopy)[] = [];
  private waitStrategy?: WaitStrategy;
  private startupTimeout?: number;
  private hostname?: string;
  private root?: string;
  private healthCheck?: HealthCheck;

  /** An image name in nsbox's store, or a path to a rootfs tarball or image archive (imported first). */
  constructor(private readonly image: string) {}

  withName(name: string): this {
    this.name = name;
    return this;
  }
  /** Replaces the image's Cmd. */
  withCommand(command: string[]): this {
    this.command = [...command];
    return this;
  }
  withEntrypoint(entrypoint: string[]): this {
    this.entrypoint = [...entrypoint];
    return this;
  }
  withEnvironment(environment: Record<string, string>): this {
    this.env = { ...this.env, ...environment };
    return this;
  }
  /** Published on 127.0.0.1, each at a free host port unless { container, host } fixes one. */
  withExposedPorts(...ports: PortWithOptionalBinding[]): this {
    for (const p of ports) {
      const parsed = parseExposedPort(p);
      if (!parsed) throw new NsboxError('INVALID_PORT', `invalid exposed port ${JSON.stringify(p)}`, "give a port 1-65535: 80, '80/udp' or { container: 80, host: 8080 }");
      this.ports.push(parsed);
    }
    return this;
  }
  /** A health check (docker's Test: ["CMD", …] or ["CMD-SHELL", "…"]), for Wait.forHealthCheck() and `ps`. */
  withHealthCheck(healthCheck: HealthCheck): this {
    this.healthCheck = { ...healthCheck, test: [...healthCheck.test] };
    return this;
  }
  withLabels(labels: Record<string, string>): this {
    this.labels = { ...this.labels, ...labels };
    return this;
  }
  /** "UID[:GID]", or a name from the image's /etc/passwd. */
  withUser(user: string): this {
    this.user = user;
    return this;
  }
  withWorkingDir(workingDir: string): this {
    this.workdir = workingDir;
    return this;
  }
  withBindMounts(bindMounts: BindMount[]): this {
    this.binds.push(...bindMounts.map((b) => ({ ...b })));
    return this;
  }
  withTmpFs(tmpFs: TmpFs): this {
    this.tmpfs = { ...this.tmpfs, ...tmpFs };
    return this;
  }
  /**
   * Host files copied (when it starts) into a private directory of its pod,
   * and that copy bound read-write at target: the container sees and may
   * change the copy, never the original. Unlike docker's copy, target is a
   * mount point (it cannot be renamed or removed inside).
   */
  withCopyFilesToContainer(filesToCopy: FileToCopy[]): this {
    this.copies.push(...filesToCopy.map((f) => ({ ...f })));
    return this;
  }
  /** Text or bytes written as a file at target, the same way. */
  withCopyContentToContainer(contentsToCopy: ContentToCopy[]): this {
    this.copies.push(...contentsToCopy.map((c) => ({ ...c })));
    return this;
  }
  withWaitStrategy(waitStrategy: WaitStrategy): this {
    this.waitStrategy = waitStrategy;
    return this;
  }
  /** For the wait strategy, unless it has a timeout of its own (default 60 s). */
  withStartupTimeout(startupTimeoutMs: number): this {
    this.startupTimeout = checkedTimeout(startupTimeoutMs);
    return this;
  }
  /** The hostname of its own pod (in a GenericPod, the pod's). */
  withHostname(hostname: string): this {
    this.hostname = hostname;
    return this;
  }
  /** nsbox's state root (as --root): default $XDG_RUNTIME_DIR/nsbox, or NSBOX_ROOT. */
  withRoot(root: string): this {
    this.root = root;
    return this;
  }

  /** @internal What start() runs, with a name chosen and the strategy's timeout set. */
  resolveSpec(): ContainerSpec {
    const waitStrategy = this.waitStrategy ?? Wait.forListeningPorts();
    if (this.startupTimeout !== undefined && !waitStrategy.isStartupTimeoutSet()) waitStrategy.withStartupTimeout(this.startupTimeout);
    const dup = duplicatePort(this.ports);
    if (dup) throw new NsboxError('INVALID_PORT', `port ${dup.container}/${dup.protocol} is exposed twice`, 'expose each container port once');
    return {
      image: this.image,
      name: this.name ?? generateContainerName(),
      command: this.command,
      entrypoint: this.entrypoint,
      env: this.env,
      ports: this.ports,
      labels: this.labels,
      user: this.user,
      workdir: this.workdir,
      binds: this.binds,
      tmpfs: this.tmpfs,
      copies: this.copies,
      waitStrategy,
      hostname: this.hostname,
      root: this.root,
      healthCheck: this.healthCheck,
    };
  }

  /** Starts it in a pod of its own, publishing its exposed ports, and waits until it is ready. */
  async start(): Promise<StartedGenericContainer> {
    const spec = this.resolveSpec();
    const pod = await createPod({
      root: spec.root,
      name: spec.name,
      hostname: spec.hostname,
      ports: spec.ports.map((p) => publishSpec(p, HOST_IP)),
      labels: spec.labels,
      ownedBy: spec.name,
    });
    try {
      return await startInPod(pod, spec, true);
    } catch (err) {
      await pod.remove({ force: true, timeoutSeconds: 0 }).catch(() => {});
      throw err;
    }
  }
}

/** docker's --mount for a bind: only ever a host path (a bare name would be a named volume in -v's form). */
function bindSpec(source: string, target: string, readOnly: boolean): string {
  return `type=bind,source=${source},target=${target}${readOnly ? ',readonly' : ''}`;
}

/** The copies for one container, written under its pod's directory (removed with the pod): `-v` specs. */
function writeCopies(pod: Pod, spec: ContainerSpec): string[] {
  if (!spec.copies.length) return [];
  const dir = join(statePaths.podDir(pod.root, pod.id), 'copies', spec.name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return spec.copies.map((c, i) => {
    const file = join(dir, String(i));
    try {
      if ('content' in c) writeFileSync(file, c.content);
      else copyFileSync(c.source, file);
    } catch (err) {
      throw new NsboxError('COPY_FAILED', `cannot copy ${'content' in c ? 'content' : c.source} for ${c.target}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'check that the source is a readable file');
    }
    chmodSync(file, c.mode ?? 0o644);
    return bindSpec(file, c.target, false);
  });
}

/** Runs the container in a running pod and waits for it; the caller removes what a failure leaves. */
export async function startInPod(pod: Pod, spec: ContainerSpec, ownsPod: boolean): Promise<StartedGenericContainer> {
  // z and Z (SELinux relabelling) change nothing here, as nsbox's -v says.
  const mounts = [...spec.binds.map((b) => bindSpec(b.source, b.target, b.mode === 'ro')), ...writeCopies(pod, spec)];
  const since = Date.now();
  const c = await pod.run(spec.image, {
    name: spec.name,
    command: spec.command,
    entrypoint: spec.entrypoint,
    env: spec.env,
    workdir: spec.workdir,
    user: spec.user,
    labels: spec.labels,
    mounts,
    tmpfs: Object.entries(spec.tmpfs).map(([path, opts]) => (opts ? `${path}:${opts}` : path)),
    ...healthOptions(spec.healthCheck),
  });
  const r = c.record();
  if (r.state === 'exited' && r.error) throw new NsboxError('START_FAILED', `${ownsPod ? c.name : c.ref} did not start: ${r.error}`, 'check the image and the command');
  const started = new StartedGenericContainer(pod, c, spec.ports, spec.waitStrategy, ownsPod);
  await started.waitUntilReady(since);
  return started;
}

function healthOptions(h: HealthCheck | undefined) {
  if (!h) return {};
  const ms = (v: number | undefined) => (v === undefined ? undefined : `${v}ms`);
  return { healthCmd: h.test, healthInterval: ms(h.interval), healthTimeout: ms(h.timeout), healthStartPeriod: ms(h.startPeriod), healthRetries: h.retries };
}
