// Several builders in one pod: they share its network (localhost), hostname
// and IPC, and its published ports (every container's exposed ports are
// the pod's). Started in the order given, each ready before the next starts.
import { NsboxError } from '../../errors.js';
import { duplicatePort, publishSpec } from '../../core/exposed-ports.js';
import { createPod } from '../create-pod.js';
import type { Pod } from '../pod.js';
import { startInPod, type ContainerSpec, type GenericContainer } from './generic-container.js';
import { HOST_IP, type StartedGenericContainer } from './started-container.js';

export class GenericPod {
  private name?: string;
  private hostname?: string;
  private root?: string;
  private labels: Record<string, string> = {};
  private readonly builders: GenericContainer[] = [];

  withName(name: string): this {
    this.name = name;
    return this;
  }
  withHostname(hostname: string): this {
    this.hostname = hostname;
    return this;
  }
  withRoot(root: string): this {
    this.root = root;
    return this;
  }
  withLabels(labels: Record<string, string>): this {
    this.labels = { ...this.labels, ...labels };
    return this;
  }
  withContainer(container: GenericContainer): this {
    this.builders.push(container);
    return this;
  }

  async start(): Promise<StartedGenericPod> {
    const specs = this.builders.map((b) => b.resolveSpec());
    checkMembers(specs, this.root);
    const pod = await createPod({
      root: this.root,
      name: this.name,
      hostname: this.hostname,
      ports: specs.flatMap((s) => s.ports.map((p) => publishSpec(p, HOST_IP))),
      labels: this.labels,
    });
    const started: StartedGenericContainer[] = [];
    try {
      for (const spec of specs) started.push(await startInPod(pod, spec, false));
    } catch (err) {
      await pod.remove({ force: true, timeoutSeconds: 0 }).catch(() => {});
      throw err;
    }
    return new StartedGenericPod(pod, started);
  }
}

function checkMembers(specs: ContainerSpec[], root: string | undefined): void {
  if (!specs.length) throw new NsboxError('INVALID_ARGUMENT', 'the pod has no container', 'add one with .withContainer(new GenericContainer(image))');
  const names = new Set<string>();
  for (const s of specs) {
    if (names.has(s.name)) throw new NsboxError('DUPLICATE_NAME', `two containers of the pod are named ${s.name}`, 'give each its own .withName()');
    names.add(s.name);
    if (s.hostname !== undefined) throw new NsboxError('INVALID_ARGUMENT', `container ${s.name} sets a hostname, but it shares its pod's`, 'set it with GenericPod.withHostname()');
    if (s.root !== undefined && s.root !== root) throw new NsboxError('INVALID_ARGUMENT', `container ${s.name} has a state root of its own`, 'set the root once, with GenericPod.withRoot()');
  }
  const dup = duplicatePort(specs.flatMap((s) => s.ports));
  if (dup) throw new NsboxError('INVALID_PORT', `port ${dup.container}/${dup.protocol} is exposed by two containers`, 'they share the pod\'s network: only one of them can listen on it');
}

export class StartedGenericPod implements AsyncDisposable {
  private stopped: Promise<void> | null = null;

  constructor(
    /** nsbox's handle on the pod. */
    readonly pod: Pod,
    private readonly containers: StartedGenericContainer[],
  ) {}

  getName(): string {
    return this.pod.name;
  }
  getId(): string {
    return this.pod.id;
  }
  getHost(): string {
    return HOST_IP;
  }
  getHostname(): string {
    return this.pod.record.hostname;
  }

  /** The host port published for a container port of any of its containers. */
  getMappedPort(port: number, protocol: 'tcp' | 'udp' = 'tcp'): number {
    const m = (this.pod.record.ports ?? []).find((p) => p.podPort === port && p.protocol === protocol);
    if (!m) throw new NsboxError('PORT_NOT_EXPOSED', `port ${port}/${protocol} is not exposed in pod ${this.pod.name}`, 'expose it with .withExposedPorts() on one of its containers');
    return m.hostPort;
  }

  getContainer(name: string): StartedGenericContainer {
    const c = this.containers.find((x) => x.getName() === name);
    if (!c) throw new NsboxError('NO_SUCH_CONTAINER', `no container ${name} in pod ${this.pod.name}`, `its containers: ${this.containers.map((x) => x.getName()).join(', ')}`);
    return c;
  }

  getContainers(): StartedGenericContainer[] {
    return [...this.containers];
  }

  /** Removes the pod and all its containers; again, it does nothing. */
  stop(): Promise<void> {
    this.stopped ??= this.pod.remove({ force: true, timeoutSeconds: 0 });
    return this.stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
