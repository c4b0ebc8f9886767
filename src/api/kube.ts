// `kube play`, `kube down` and `kube generate`: Kubernetes YAML in and out.
// The manifest is translated first (kube/, pure: every refusal comes before
// anything is made); then volumes, pods, init containers in order (each to
// completion), the containers, and with `wait` their readiness. A play that
// fails removes what it made.
import { EXTRA_HOSTS_FILE } from '../pod/extra-hosts.js';
import { readFileSync } from 'node:fs';
import { NsboxError } from '../errors.js';
import type { KubeContainer, KubePlay, KubePod } from '../kube/model.js';
import type { HealthConfig } from '../core/health.js';
import type { ImageForRun } from '../container/run.js';
import { defaultDataRoot, defaultRuntimeRoot, statePaths } from '../state/paths.js';
import type { Pod } from './pod.js';
import { Container } from './container.js';

const INIT_LABEL = 'io.nsbox.kube.init';
const SIDECAR_LABEL = 'io.nsbox.kube.sidecar';
const NETWORK_MODES = ['builtin', 'pasta', 'none'];

/** The images of a play, resolved once each (by reference and pull policy). */
type Images = Map<string, ImageForRun>;

export interface KubeSource {
  /** The YAML text. */
  text: string;
  /** Its name in messages (a file name, or "stdin"). */
  source: string;
}

export interface KubePlayOptions {
  root?: string;
  dataRoot?: string;
  files: KubeSource[];
  /** --configmap FILE: ConfigMaps and Secrets the manifest refers to. */
  configMaps?: KubeSource[];
  /** Pods of the same names go first. */
  replace?: boolean;
  /** Resolve once every container is ready (its readiness probe passes, or it runs); fail after `waitTimeoutMs`. */
  wait?: boolean;
  waitTimeoutMs?: number;
  /** --publish [IP:]HOST:CTR on top of the manifest's hostPorts. */
  publish?: string[];
  /** --network (podman's): builtin, pasta or none, or user networks (`nsbox network create`) every pod joins. */
  networks?: string[];
  onWarning?: (message: string) => void;
  onProgress?: (line: string) => void;
}

export interface KubePlayResult {
  pods: { name: string; id: string; containers: string[] }[];
  volumes: string[];
}

/** Reads FILE, or stdin for "-". */
export function readKubeSource(file: string): KubeSource {
  try {
    return { text: readFileSync(file === '-' ? 0 : file, 'utf8'), source: file === '-' ? 'stdin' : file };
  } catch (err) {
    throw new NsboxError('KUBE_INVALID', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'give the path of a YAML file, or - for stdin');
  }
}

/** The manifest translated, nothing made: what play would do (and its warnings). */
export async function planKube(files: KubeSource[], opts: { configMaps?: KubeSource[]; publish?: string[] } = {}): Promise<KubePlay> {
  const [{ parseKubeYaml }, { buildPlay }] = await Promise.all([import('../kube/documents.js'), import('../kube/play-plan.js')]);
  const objects = files.flatMap((f) => parseKubeYaml(f.text, f.source));
  const extra = (opts.configMaps ?? []).flatMap((f) => parseKubeYaml(f.text, f.source));
  for (const o of extra)
    if (o.kind !== 'ConfigMap' && o.kind !== 'Secret') throw new NsboxError('KUBE_INVALID', `${o.where}: --configmap takes ConfigMaps (and Secrets), not a ${o.kind}`, 'give the file as the manifest instead');
  return buildPlay({ objects, extra, publish: opts.publish });
}

const roots = (o: { root?: string; dataRoot?: string }) => ({ root: o.root ?? defaultRuntimeRoot(), dataRoot: o.dataRoot ?? o.root ?? defaultDataRoot() });

export async function playKube(opts: KubePlayOptions): Promise<KubePlayResult> {
  const { root, dataRoot } = roots(opts);
  const plan = await planKube(opts.files, opts);
  const warn = opts.onWarning ?? ((m: string) => process.stderr.write(`nsbox: warning: ${m}\n`));
  plan.warnings.forEach(warn);
  const { listPodRecords } = await import('../pod/store.js');
  const existing = new Set(listPodRecords(root).map((r) => r.name));
  const named = (opts.networks ?? []).filter((n) => !NETWORK_MODES.includes(n));
  if (named.length) {
    const { networkExists } = await import('./networks.js');
    for (const n of named)
      if (!networkExists(n, { root })) throw new NsboxError('NO_SUCH_NETWORK', `no such network: ${n}`, `create it with \`nsbox network create ${n}\`, or use --network builtin, pasta or none`);
  }
  for (const p of plan.pods)
    if (existing.has(p.name) && !opts.replace) throw new NsboxError('DUPLICATE_NAME', `a pod named ${p.name} already exists`, 'play with --replace to replace it, or remove it with `nsbox kube down FILE`');
  // Images first (pulled as their policy says): a missing one fails before anything is made.
  const { pullFirst } = await import('./run.js');
  const { resolveImage } = await import('../container/run.js');
  const images: Images = new Map();
  for (const c of plan.pods.flatMap((p) => [...p.init, ...p.containers])) {
    const key = `${c.image}\0${c.pull}`;
    if (images.has(key)) continue;
    await pullFirst({ image: c.image, dataRoot, pull: { policy: c.pull }, onProgress: opts.onProgress });
    images.set(key, await resolveImage(c.image, dataRoot, opts.onProgress));
  }
  const { createVolume, volumeExists, removeVolume } = await import('./volumes.js');
  const made: string[] = [];
  const pods: Pod[] = [];
  const result: KubePlayResult = { pods: [], volumes: [] };
  try {
    for (const name of new Set([...plan.volumes, ...plan.pods.flatMap((p) => p.claims)])) {
      if (volumeExists(name, { root: dataRoot })) continue;
      await createVolume(name, { root: dataRoot, stateRoot: root, labels: { 'io.nsbox.kube': 'PersistentVolumeClaim' } });
      made.push(name);
    }
    if (opts.replace) {
      const { getPod } = await import('./pods.js');
      for (const p of plan.pods) if (existing.has(p.name)) await getPod(p.name, { root }).remove({ force: true });
    }
    for (const p of plan.pods) {
      const pod = await startKubePod(p, { root, dataRoot, images, warn, networks: opts.networks ?? [] });
      pods.push(pod);
      result.pods.push({ name: p.name, id: pod.id, containers: p.containers.map((c) => c.name) });
    }
    if (opts.wait) {
      const { waitKubeReady } = await import('./kube-wait.js');
      await waitKubeReady(
        pods.map((pod, i) => ({ pod, spec: plan.pods[i]! })),
        opts.waitTimeoutMs ?? 120_000,
      );
    }
  } catch (err) {
    for (const pod of pods) await pod.remove({ force: true }).catch(() => {});
    for (const v of made) await removeVolume(v, { root: dataRoot, stateRoot: root, force: true }).catch(() => {});
    throw err;
  }
  result.volumes = made;
  return result;
}

/** The pod, its files, its init containers run to completion in order, then its containers. */
async function startKubePod(p: KubePod, ctx: { root: string; dataRoot: string; images: Images; warn: (m: string) => void; networks: string[] }): Promise<Pod> {
  const { createPod } = await import('./create-pod.js');
  const mode = ctx.networks.find((n) => NETWORK_MODES.includes(n));
  const networks = ctx.networks.filter((n) => !NETWORK_MODES.includes(n)).map((name) => ({ name, aliases: [] }));
  const pod = await createPod({ root: ctx.root, name: p.name, hostname: p.hostname, detached: true, ports: p.publish, labels: { 'io.nsbox.kube': 'Pod' }, onWarning: ctx.warn, ...(mode ? { network: mode } : {}), networks });
  pod.dataRoot = ctx.dataRoot;
  try {
    const podDir = statePaths.podDir(ctx.root, pod.id);
    const { writeEnvRefs, writePodVolumes } = await import('./kube-mounts.js');
    writePodVolumes(podDir, p.podVolumes);
    writeEnvRefs(podDir, Object.fromEntries([...p.init, ...p.containers].map((c) => [c.name, c.envRefs])));
    if (p.hosts) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(`${podDir}/${EXTRA_HOSTS_FILE}`, p.hosts, { mode: 0o644 });
    }
    for (const c of p.init) {
      await startKubeContainer(pod, p, c, true, ctx);
      if (c.sidecar) {
        // It runs beside the next ones, restarted always; they wait for its startup probe.
        if (c.startup) {
          const { awaitSidecarStartup } = await import('./kube-startup.js');
          await awaitSidecarStartup(new Container(pod, c.name), `${p.name}/${c.name}`, c.startup);
        }
        continue;
      }
      const code = await new Container(pod, c.name).wait();
      if (code !== 0) {
        const { lastLogLines } = await import('./testcontainers/log-lines.js');
        const lines = lastLogLines(new Container(pod, c.name), 5);
        throw new NsboxError('KUBE_INIT_FAILED', `pod ${p.name}: init container ${c.name} exited with code ${code}${lines.length ? `; its last lines: ${lines.join(' | ')}` : ''}`, `see \`nsbox logs ${p.name}/${c.name}\` (kept when the play is run again after a fix)`);
      }
    }
    for (const c of p.containers) await startKubeContainer(pod, p, c, false, ctx);
  } catch (err) {
    await pod.remove({ force: true }).catch(() => {});
    throw err;
  }
  return pod;
}

async function startKubeContainer(pod: Pod, p: KubePod, c: KubeContainer, init: boolean, ctx: { root: string; dataRoot: string; images: Images }): Promise<void> {
  const { buildRunRequest } = await import('../container/run.js');
  const { kubeMounts } = await import('./kube-mounts.js');
  const { checkMountTargets } = await import('../container/mounts.js');
  const image = ctx.images.get(`${c.image}\0${c.pull}`)!;
  const request = buildRunRequest(image, {
    name: c.name,
    ...(c.entrypoint ? { entrypoint: c.entrypoint } : {}),
    ...(c.command ? { command: c.command } : {}),
    env: c.env,
    ...(c.workdir ? { workdir: c.workdir } : {}),
    ...(c.user !== undefined ? { user: c.user } : {}),
    // Init containers run once, a failed one failing the play; a sidecar is restarted always.
    restart: c.sidecar ? 'always' : init ? 'no' : p.restart,
    readOnly: c.readOnly,
    capAdd: c.capAdd,
    capDrop: c.capDrop,
    noHealthcheck: true,
    // kube generate tells init containers by it.
    ...(init ? { labels: { [INIT_LABEL]: 'true', ...(c.sidecar ? { [SIDECAR_LABEL]: 'true' } : {}) } } : {}),
  });
  if (c.runAsNonRoot && request.user.uid === 0)
    throw new NsboxError('KUBE_INVALID', `pod ${p.name}: container ${c.name} would run as root (uid 0), and runAsNonRoot is set`, 'give securityContext.runAsUser a non-zero uid, or use an image whose USER is not root');
  const mounts = kubeMounts(c.mounts, { podDir: statePaths.podDir(ctx.root, pod.id), dataRoot: ctx.dataRoot, container: c.name });
  checkMountTargets(mounts);
  const healthcheck = init && !c.sidecar ? undefined : kubeHealth(c, p.graceSeconds);
  await pod.startContainer({ ...request, ...(mounts.length ? { mounts } : {}), ...(healthcheck ? { healthcheck } : {}), ...(c.preStop ? { preStop: c.preStop } : {}), ...(p.sharePid ? {} : { pidNamespace: 'private' as const }) });
}

/**
 * The liveness probe as nsbox's health check (a failure kills the container,
 * and the restart policy decides what follows, as with Kubernetes), else the
 * readiness probe (the health status then says whether it is ready). A
 * startup probe's budget becomes the start period.
 */
export function kubeHealth(c: KubeContainer, graceSeconds: number): HealthConfig | undefined {
  const p = c.liveness ?? c.readiness;
  if (!p) return undefined;
  const startup = c.startup ? c.startup.initialDelayMs + c.startup.periodMs * c.startup.failureThreshold : 0;
  return {
    test: p.action.kind === 'exec' ? p.action.command : p.action.kind === 'http' ? ['HTTP-GET', `${p.action.scheme.toLowerCase()}://127.0.0.1:${p.action.port}${p.action.path}`] : ['TCP-LISTEN', String(p.action.port)],
    ...(p.action.kind !== 'exec' ? { probe: p.action } : {}),
    intervalMs: p.periodMs,
    timeoutMs: p.timeoutMs,
    startPeriodMs: p.initialDelayMs + startup,
    retries: p.failureThreshold,
    ...(c.liveness ? { onFailure: 'terminate' as const, graceSeconds } : { onFailure: 'none' as const }),
  };
}

export interface KubeDownResult {
  pods: string[];
  volumes: string[];
}

/** Removes the pods a manifest made; its PersistentVolumeClaims' volumes only with `force`. */
export async function downKube(opts: { root?: string; dataRoot?: string; files: KubeSource[]; force?: boolean }): Promise<KubeDownResult> {
  const { root, dataRoot } = roots(opts);
  const [{ parseKubeYaml }, { buildDown }] = await Promise.all([import('../kube/documents.js'), import('../kube/down-plan.js')]);
  const plan = buildDown(opts.files.flatMap((f) => parseKubeYaml(f.text, f.source)));
  const { listPodRecords } = await import('../pod/store.js');
  const { getPod } = await import('./pods.js');
  const present = new Set(listPodRecords(root).map((r) => r.name));
  const out: KubeDownResult = { pods: [], volumes: [] };
  for (const p of plan.pods) {
    if (!present.has(p.name)) continue;
    await getPod(p.name, { root }).remove({ force: true, timeoutSeconds: p.graceSeconds });
    out.pods.push(p.name);
  }
  if (opts.force) {
    const { removeVolume, volumeExists } = await import('./volumes.js');
    for (const v of plan.volumes) {
      if (!volumeExists(v, { root: dataRoot })) continue;
      await removeVolume(v, { root: dataRoot, stateRoot: root, force: true });
      out.volumes.push(v);
    }
  }
  return out;
}

export interface KubeGenerateOptions {
  root?: string;
  dataRoot?: string;
  /** A Pod (default) or a Deployment of one replica. */
  type?: 'pod' | 'deployment';
  /** Add a NodePort Service of the published ports. */
  service?: boolean;
}

/** A pod, running or stopped, as Kubernetes YAML that a cluster accepts (and `kube play` plays again). */
export async function generateKube(podRef: string, opts: KubeGenerateOptions = {}): Promise<string> {
  const { root, dataRoot } = roots(opts);
  const type = opts.type ?? 'pod';
  if (type !== 'pod' && type !== 'deployment') throw new NsboxError('INVALID_ARGUMENT', `--type ${JSON.stringify(type)} is not pod or deployment`, 'use --type pod or --type deployment');
  const [{ getPod }, { listContainerRecords }, { findImage }, { resolveCommand }, { DEFAULT_CAPABILITIES }, { DEFAULT_PATH }, km, { volumePaths }, { generateKubeYaml }, fs] = await Promise.all([
    import('./pods.js'),
    import('../container/list.js'),
    import('../image/store.js'),
    import('../container/spec.js'),
    import('../container/capabilities.js'),
    import('../pod/plans.js'),
    import('./kube-mounts.js'),
    import('../volume/store.js'),
    import('../kube/generate.js'),
    import('node:fs'),
  ]);
  const rec = getPod(podRef, { root }).record;
  const podDir = statePaths.podDir(root, rec.id);
  // Bind sources are real paths (subPaths are resolved): compare with both spellings.
  const real = (p: string) => (fs.existsSync(p) ? fs.realpathSync(p) : p);
  const podVolumesDirs = [`${podDir}/kube-volumes/`, `${real(podDir)}/kube-volumes/`];
  const volumesDirs = [`${volumePaths.all(dataRoot)}/`, `${real(volumePaths.all(dataRoot))}/`];
  const records = listContainerRecords(root, rec.id);
  const envRefs = km.readEnvRefs(podDir);
  if (!records.length) throw new NsboxError('KUBE_EMPTY_POD', `pod ${rec.name} has no containers`, `run one in it first (\`nsbox run --pod ${rec.name} IMAGE\`)`);
  const under = (path: string, dirs: string[]) => {
    const dir = dirs.find((d) => path.startsWith(d));
    return dir ? path.slice(dir.length).split('/').filter(Boolean) : null;
  };
  const containers = records.map((r) => {
    let config: { entrypoint?: string[]; cmd?: string[]; env?: string[]; workingDir?: string } = {};
    let localOnly = true;
    try {
      const image = findImage(dataRoot, r.image.id);
      config = image.config ?? {};
      localOnly = image.source !== 'registry';
    } catch {
      // removed since: its command and environment are given in full
    }
    let imageArgv: string[] = [];
    try {
      imageArgv = resolveCommand(config, {});
    } catch {
      // the image runs nothing by itself
    }
    const base = new Map(Object.entries({ HOME: '/root', ...Object.fromEntries((config.env ?? [`PATH=${DEFAULT_PATH}`]).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])) }));
    const env = r.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)] as [string, string]).filter(([k, v]) => base.get(k) !== v);
    const caps = r.capabilities ?? DEFAULT_CAPABILITIES;
    const mounts = (r.mounts ?? []).map((m) => {
      if (m.type === 'tmpfs') return { kind: 'tmpfs' as const, target: m.target, readOnly: m.options.split(',').includes('ro') };
      if (m.type === 'volume') return { kind: 'volume' as const, name: m.name, target: m.target, readOnly: m.readOnly };
      const inPod = under(m.source, podVolumesDirs);
      if (inPod?.length) return { kind: 'pod' as const, volume: inPod[0]!, target: m.target, readOnly: m.readOnly, ...(inPod.length > 1 ? { subPath: inPod.slice(1).join('/') } : {}) };
      const inVolume = under(m.source, volumesDirs);
      if (inVolume && inVolume[1] === '_data') return { kind: 'volume' as const, name: inVolume[0]!, target: m.target, readOnly: m.readOnly, ...(inVolume.length > 2 ? { subPath: inVolume.slice(2).join('/') } : {}) };
      return { kind: 'host' as const, source: m.source, file: m.kind === 'file', target: m.target, readOnly: m.readOnly };
    });
    return {
      name: r.name,
      init: r.labels?.[INIT_LABEL] === 'true',
      sidecar: r.labels?.[SIDECAR_LABEL] === 'true',
      image: r.image.name ?? r.image.id,
      localOnly,
      argv: r.argv,
      imageArgv,
      env,
      envRefs: envRefs[r.name] ?? [],
      workdir: r.workdir !== (config.workingDir || '/') ? r.workdir : null,
      user: r.user,
      readOnly: r.readOnly,
      capAdd: caps.filter((c) => !DEFAULT_CAPABILITIES.includes(c)),
      capDrop: DEFAULT_CAPABILITIES.filter((c) => !caps.includes(c)),
      mounts,
      ...(r.healthcheck ? { healthcheck: r.healthcheck } : {}),
      ...(r.preStop ? { preStop: r.preStop } : {}),
    };
  });
  const podVolumes = km.readPodVolumeMeta(podDir).map((v) => ({
    name: v.name,
    ...(v.from ? { from: v.from } : {}),
    files: v.files.map((f) => ({ ...f, content: fs.readFileSync(`${km.podVolumeDir(podDir, v.name)}/${f.path}`) })),
  }));
  let extraHosts = '';
  try {
    extraHosts = fs.readFileSync(`${podDir}/extra-hosts`, 'utf8');
  } catch {
    // none
  }
  const hostAliases = extraHosts
    .split('\n')
    .map((l) => l.split(/\s+/).filter(Boolean))
    .filter((f) => f.length > 1)
    .map(([ip, ...hostnames]) => ({ ip: ip!, hostnames }));
  const main = records.find((r) => r.labels?.[INIT_LABEL] !== 'true') ?? records[0]!;
  return generateKubeYaml(
    { name: rec.name, hostname: rec.hostname, restart: main.restart.policy, ports: rec.ports ?? [], hostAliases, sharePid: !records.every((r) => r.pidNamespace === 'private'), containers, podVolumes },
    { type, service: !!opts.service },
  );
}
