// One pod spec (a Pod's, or a Deployment's template) as nsbox runs it.
import { kubeError, Reader } from './fields.js';
import { containerEnv, expandVars, type EnvSources } from './env.js';
import { mountPathOf, relativeInside } from './paths.js';
import { readProbe } from './probes.js';
import { readVolume, type DataSources, type VolumeSource } from './volumes.js';
import type { KubeContainer, KubeMount, KubePod, PodVolume, PreStopHook } from './model.js';

export interface PodInput {
  name: string;
  spec: Reader;
  env: Omit<EnvSources, 'podName' | 'hostname'>;
  data: DataSources;
  /** --publish HOST:CTR, on top of the hostPorts. */
  publish: string[];
}

const RESTART: Record<string, KubePod['restart']> = { Always: 'always', OnFailure: 'on-failure', Never: 'no' };
const PULL: Record<string, KubeContainer['pull']> = { Always: 'always', IfNotPresent: 'missing', Never: 'never' };
const HOSTNAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

interface SecurityDefaults {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
}

function podSecurity(s: Reader): SecurityDefaults {
  const d = { runAsUser: s.int('runAsUser'), runAsGroup: s.int('runAsGroup'), runAsNonRoot: s.bool('runAsNonRoot') };
  seccompOf(s);
  s.ignore('fsGroup', 'volumes keep their owners (a fresh named volume is fitted to the container\'s user)');
  s.ignore('fsGroupChangePolicy', 'volumes keep their owners');
  s.ignore('supplementalGroups', 'the container keeps the groups of its user');
  s.refuse('sysctls', 'nsbox sets no sysctls');
  s.refuse('windowsOptions', 'nsbox runs Linux containers');
  s.ignore('seLinuxOptions', 'there is no SELinux labelling here');
  s.ignore('appArmorProfile', 'nsbox applies no AppArmor profile');
  s.done();
  return d;
}

/** RuntimeDefault is what nsbox always applies; Unconfined and Localhost profiles are not read. */
function seccompOf(s: Reader): void {
  const p = s.obj('seccompProfile');
  const type = p.str('type');
  if (type !== undefined && type !== 'RuntimeDefault') throw kubeError(p.at('type'), `${JSON.stringify(type)} is not supported`, 'use RuntimeDefault (podman\'s default profile, which nsbox applies), or leave it out');
  p.done();
}

function portsOf(c: Reader, named: Map<string, number>, publish: string[]): void {
  for (const p of c.list('ports')) {
    const containerPort = p.int('containerPort', 1);
    if (containerPort === undefined || containerPort > 65535) throw kubeError(p.at('containerPort'), 'is required (1-65535)', 'give the port the container listens on');
    const protocol = p.str('protocol') ?? 'TCP';
    if (protocol !== 'TCP' && protocol !== 'UDP') throw kubeError(p.at('protocol'), `${JSON.stringify(protocol)} is not supported`, 'use TCP or UDP');
    const name = p.str('name');
    if (name) named.set(name, containerPort);
    const hostPort = p.int('hostPort', 1);
    const hostIP = p.str('hostIP');
    if (hostPort !== undefined) publish.push(`${hostIP ? `${hostIP.includes(':') ? `[${hostIP}]` : hostIP}:` : ''}${hostPort}:${containerPort}${protocol === 'UDP' ? '/udp' : ''}`);
    else if (hostIP) throw kubeError(p.at('hostIP'), 'is given without a hostPort', 'add hostPort, or remove hostIP');
    p.done();
  }
}

function containerSecurity(s: Reader, pod: SecurityDefaults, c: Partial<KubeContainer>): void {
  const uid = s.int('runAsUser') ?? pod.runAsUser;
  const gid = s.int('runAsGroup') ?? pod.runAsGroup;
  if (gid !== undefined && uid === undefined) throw kubeError(s.at('runAsGroup'), 'is given without runAsUser', 'give runAsUser too (nsbox sets both at once)');
  if (uid !== undefined) c.user = gid !== undefined ? `${uid}:${gid}` : String(uid);
  c.runAsNonRoot = s.bool('runAsNonRoot') ?? pod.runAsNonRoot ?? false;
  c.readOnly = s.bool('readOnlyRootFilesystem') ?? false;
  const caps = s.obj('capabilities');
  c.capAdd = caps.strings('add') ?? [];
  c.capDrop = caps.strings('drop') ?? [];
  caps.done();
  s.refuse('privileged', 'a privileged container would get every device and capability', false);
  const ape = s.bool('allowPrivilegeEscalation');
  if (ape === true) s.ignore('allowPrivilegeEscalation', 'no_new_privs is always on in nsbox');
  s.ignore('procMount', 'nsbox masks /proc as runc does');
  s.ignore('seLinuxOptions', 'there is no SELinux labelling here');
  s.ignore('appArmorProfile', 'nsbox applies no AppArmor profile');
  s.refuse('windowsOptions', 'nsbox runs Linux containers');
  seccompOf(s);
  s.done();
}

function mountsOf(c: Reader, volumes: Map<string, VolumeSource>, memoryUse: Map<string, number>): KubeMount[] {
  return c.list('volumeMounts').map((m) => {
    const name = m.need('name');
    const target = mountPathOf(m.need('mountPath'), m.at('mountPath'));
    const readOnly = m.bool('readOnly') ?? false;
    const sub = m.str('subPath');
    const subPath = sub ? relativeInside(sub, m.at('subPath')) : undefined;
    m.refuse('subPathExpr', 'nsbox does not expand subPathExpr');
    const prop = m.str('mountPropagation');
    if (prop !== undefined && prop !== 'None') throw kubeError(m.at('mountPropagation'), `${JSON.stringify(prop)} is not supported`, 'binds are private (None): remove it');
    m.refuse('recursiveReadOnly', 'read-only binds are recursive already');
    m.done();
    const v = volumes.get(name);
    if (!v) throw kubeError(m.at('name'), `no volume named ${name} in spec.volumes`, 'add it to spec.volumes, or fix the name');
    const sp = subPath ? { subPath } : {};
    switch (v.kind) {
      case 'host':
        return { kind: 'host', source: v.path, hostType: v.type, target, readOnly, ...sp };
      case 'claim':
        return { kind: 'volume', name: v.claim, target, readOnly: readOnly || v.readOnly, ...sp };
      case 'emptyDir':
        if (v.memory && memoryUse.get(name) === 1 && !subPath) return { kind: 'tmpfs', target, readOnly };
        return { kind: 'pod', volume: name, target, readOnly, ...sp };
      default:
        return { kind: 'pod', volume: name, target, readOnly: true, ...sp };
    }
  });
}

function readContainer(c: Reader, init: boolean, ctx: { pod: SecurityDefaults; volumes: Map<string, VolumeSource>; memoryUse: Map<string, number>; env: EnvSources; publish: string[] }): KubeContainer {
  const name = c.need('name');
  const image = c.need('image');
  const pullPolicy = c.str('imagePullPolicy') ?? 'IfNotPresent';
  const pull = PULL[pullPolicy];
  if (!pull) throw kubeError(c.at('imagePullPolicy'), `${JSON.stringify(pullPolicy)} is not a pull policy`, 'use Always, IfNotPresent or Never');
  const envRefs: KubeContainer['envRefs'] = [];
  const env = containerEnv(c, ctx.env, envRefs);
  const expand = (list: string[] | undefined) => list?.map((s) => expandVars(s, env));
  const entrypoint = expand(c.strings('command'));
  const command = expand(c.strings('args'));
  const workdir = c.str('workingDir');
  if (workdir !== undefined && !workdir.startsWith('/')) throw kubeError(c.at('workingDir'), `${JSON.stringify(workdir)} is not absolute`, 'give the directory from /');
  const named = new Map<string, number>();
  portsOf(c, named, ctx.publish);
  const out: Partial<KubeContainer> = { name, image, pull, env, envRefs, ...(entrypoint ? { entrypoint } : {}), ...(command ? { command } : {}), ...(workdir ? { workdir } : {}) };
  containerSecurity(c.obj('securityContext'), ctx.pod, out);
  out.mounts = mountsOf(c, ctx.volumes, ctx.memoryUse);
  // Kubernetes' sidecar: an init container whose restartPolicy is Always (the only value it takes).
  const sidecar = init && c.has('restartPolicy');
  if (sidecar && c.str('restartPolicy') !== 'Always')
    throw kubeError(c.at('restartPolicy'), `${JSON.stringify(c.str('restartPolicy'))} is not a restart policy for an init container`, 'use Always (a sidecar, kept running), or remove it');
  if (sidecar) out.sidecar = true;
  for (const key of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
    if (!c.has(key)) continue;
    if (init && !sidecar) throw kubeError(c.at(key), 'init containers have no probes', `remove ${key}, or make it a sidecar (restartPolicy: Always)`);
    const probe = readProbe(c.obj(key), named);
    out[key === 'livenessProbe' ? 'liveness' : key === 'readinessProbe' ? 'readiness' : 'startup'] = probe;
  }
  c.ignore('resources', 'nsbox sets no resource limits yet');
  const hook = lifecycleOf(c.obj('lifecycle'), init && !sidecar);
  if (hook) out.preStop = hook;
  c.ignore('terminationMessagePath', 'the log holds the output');
  c.ignore('terminationMessagePolicy', 'the log holds the output');
  c.ignore('stdin', 'use `nsbox run -i` for an interactive container');
  c.ignore('stdinOnce', 'use `nsbox run -i`');
  c.ignore('tty', 'use `nsbox run -t`');
  c.ignore('resizePolicy', 'nsbox sets no resource limits');
  c.done();
  return out as KubeContainer;
}

/** lifecycle: preStop with exec or sleep is run on stop; the rest is a warning (postStart, httpGet, tcpSocket). */
function lifecycleOf(l: Reader, init: boolean): PreStopHook | undefined {
  l.ignore('postStart', 'postStart hooks are not run');
  l.ignore('stopSignal', 'give the image a StopSignal, or stop with `nsbox kill -s`');
  const present = l.has('preStop');
  const h = l.obj('preStop');
  l.done();
  if (!present) return undefined;
  if (init) throw kubeError(l.at('preStop'), 'init containers have no lifecycle hooks', 'remove lifecycle');
  const actions = ['exec', 'sleep', 'httpGet', 'tcpSocket'].filter((k) => h.has(k));
  if (actions.length !== 1) throw kubeError(h.path, actions.length ? `gives ${actions.join(' and ')}: a hook has one` : 'has no exec or sleep', 'give exactly one of exec, sleep');
  let hook: PreStopHook | undefined;
  if (h.has('exec')) {
    const e = h.obj('exec');
    const command = e.strings('command');
    if (!command?.length) throw kubeError(e.at('command'), 'is required', 'give the command to run, e.g. [nginx, -s, quit]');
    e.done();
    hook = { exec: command };
  } else if (h.has('sleep')) {
    const s = h.obj('sleep');
    const seconds = s.int('seconds');
    if (seconds === undefined) throw kubeError(s.at('seconds'), 'is required', 'give the seconds to wait, e.g. 5');
    s.done();
    hook = { sleepSeconds: seconds };
  }
  h.ignore('httpGet', 'nsbox runs exec and sleep preStop hooks');
  h.ignore('tcpSocket', 'nsbox runs exec and sleep preStop hooks');
  h.done();
  return hook;
}

/** How many containers mount each volume (an emptyDir of Memory used once is a tmpfs of that container). */
function volumeUse(spec: Reader): Map<string, number> {
  const use = new Map<string, number>();
  for (const key of ['initContainers', 'containers']) {
    const list = spec.raw(key);
    if (!Array.isArray(list)) continue;
    for (const c of list) {
      const mounts = (c as { volumeMounts?: { name?: unknown }[] })?.volumeMounts;
      if (!Array.isArray(mounts)) continue;
      for (const n of new Set(mounts.map((m) => m?.name))) if (typeof n === 'string') use.set(n, (use.get(n) ?? 0) + 1);
    }
  }
  return use;
}

export function readPodSpec(input: PodInput): KubePod {
  const s = input.spec;
  s.accept('hostUsers'); // nsbox pods always have a user namespace of their own
  for (const k of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
    if (s.bool(k) === true) throw kubeError(s.at(k), `${k}: true is not supported: an nsbox pod has namespaces of its own`, `remove ${k}`);
  }
  const hostname = s.str('hostname') ?? input.name;
  if (!HOSTNAME.test(hostname)) throw kubeError(s.at('hostname'), `${JSON.stringify(hostname)} is not a hostname`, 'use lowercase letters, digits and -, at most 63');
  s.ignore('subdomain', 'nsbox has no cluster DNS');
  const restartPolicy = s.str('restartPolicy') ?? 'Always';
  const restart = RESTART[restartPolicy];
  if (!restart) throw kubeError(s.at('restartPolicy'), `${JSON.stringify(restartPolicy)} is not a restart policy`, 'use Always, OnFailure or Never');
  const graceSeconds = s.int('terminationGracePeriodSeconds') ?? 30;
  const hosts = s
    .list('hostAliases')
    .map((h) => {
      const ip = h.need('ip');
      if (!/^[0-9a-fA-F.:]+$/.test(ip)) throw kubeError(h.at('ip'), `${JSON.stringify(ip)} is not an IP address`, 'give an IPv4 or IPv6 address');
      const names = h.strings('hostnames') ?? [];
      if (names.some((n) => !/^[a-zA-Z0-9.-]+$/.test(n))) throw kubeError(h.at('hostnames'), 'holds a name that is not a hostname', 'use letters, digits, dots and dashes');
      h.done();
      return names.length ? `${ip}\t${names.join(' ')}\n` : '';
    })
    .join('');
  // Kubernetes' default is false; nsbox's pods share unless told otherwise, so kube generate writes it out.
  const sharePid = s.bool('shareProcessNamespace') !== false;
  const pod = podSecurity(s.obj('securityContext'));
  const volumes = new Map<string, VolumeSource>();
  const podVolumes: PodVolume[] = [];
  const claims: string[] = [];
  const use = volumeUse(s);
  const memoryUse = new Map<string, number>();
  for (const v of s.list('volumes')) {
    const { name, source } = readVolume(v, input.data);
    if (volumes.has(name)) throw kubeError(v.path, `a second volume named ${name}`, 'give each volume its own name');
    volumes.set(name, source);
    if (source.kind === 'emptyDir' && source.memory) memoryUse.set(name, use.get(name) ?? 0);
    if (source.kind === 'claim') claims.push(source.claim);
    if (source.kind === 'files') podVolumes.push({ name, files: source.files, mode: 0o755, from: source.from });
    if (source.kind === 'emptyDir' && !(source.memory && use.get(name) === 1)) podVolumes.push({ name, files: [], mode: 0o1777 });
  }
  const publish: string[] = [];
  const env: EnvSources = { ...input.env, podName: input.name, hostname };
  const ctx = { pod, volumes, memoryUse, env, publish };
  const init = s.list('initContainers').map((c) => readContainer(c, true, ctx));
  const containers = s.list('containers').map((c) => readContainer(c, false, ctx));
  if (!containers.length) throw kubeError(s.at('containers'), 'is empty', 'give at least one container');
  const names = [...init, ...containers].map((c) => c.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw kubeError(s.path, `two containers named ${dup}`, 'give each container its own name');
  for (const k of ['nodeSelector', 'nodeName', 'affinity', 'tolerations', 'topologySpreadConstraints', 'priority', 'priorityClassName', 'schedulerName', 'runtimeClassName', 'preemptionPolicy', 'overhead', 'readinessGates', 'schedulingGates', 'resourceClaims', 'resources'])
    s.ignore(k, 'nsbox runs the pod on this machine');
  for (const k of ['serviceAccountName', 'serviceAccount', 'automountServiceAccountToken', 'enableServiceLinks', 'imagePullSecrets', 'activeDeadlineSeconds', 'os', 'setHostnameAsFQDN'])
    s.ignore(k, 'it has no meaning outside a cluster');
  for (const k of ['dnsPolicy', 'dnsConfig']) s.ignore(k, 'containers get the host\'s resolv.conf');
  s.done();
  return { name: input.name, hostname, restart, hosts, publish: [...publish, ...input.publish], podVolumes, init, containers, graceSeconds, sharePid, claims };
}
