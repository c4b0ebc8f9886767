// Creating pods. In-process: this process is the pod's parent (library
// default). Detached: the pod's keeper (native-shims/keeper) is its parent,
// and the pod outlives its creator.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { asNsboxError, NsboxError } from '../errors.js';
import { EXTRA_HOSTS_FILE, parseAddHost } from '../pod/extra-hosts.js';
import { toLabels } from '../core/filters.js';
import { chooseMapping, mappingWarning } from '../idmap/mapping.js';
import { closeFd, dupFd, kill } from '../native/ffi.js';
import { identify, isAlive } from '../process/proc-stat.js';
import { randomHex } from '../process/random.js';
import { reaper } from '../native/reaper.js';
import { withStateLock } from '../state/lock.js';
import { defaultDataRoot, defaultRuntimeRoot, ensureRuntimeRoot, statePaths } from '../state/paths.js';
import { removeTreeAsOwner } from '../idmap/remove-tree.js';
import { CHILD_PID } from '../native/plan.js';
import { closeHostListeners, openHostListeners, type HostListener } from '../net/listeners.js';
import { parsePortSpecs, type PortMapping } from '../net/ports.js';
import { forwarderPlan, startForwarder } from '../net/start-forwarder.js';
import { pastaPlan, startPasta } from '../net/pasta.js';
import { initKeeper, keeperControl } from '../keeper/start.js';
import { keeperListenerFd, keeperSlots } from '../keeper/slots.js';
import { pastaSupport } from '../net/pasta-support.js';
import { writeNetworkError } from '../pod/network-error.js';
import { PortServer } from '../pod/port-server.js';
import { startPause, type PauseProcess } from '../pod/pause-process.js';
import { checkNetworkSpecs, closePrepared, joinAll, prepareJoin, type NetworkSpec, type PreparedJoin } from '../network/join.js';
import { withNetworkLock } from './networks.js';
import { forgetLocalPod, Pod, rememberLocalPod } from './pod.js';
import { podStatus, type NetworkMode, type PodRecord } from '../pod/record.js';
import { findPodByName, listPodRecords, readPodRecord, removePodState, sweepIncompletePods, sweepStaleNames, validatePodName, writePodRecord } from '../pod/store.js';

export interface CreatePodOptions {
  /** Unique pod name; generated when omitted. */
  name?: string;
  /** Hostname inside the pod (default: the name). */
  hostname?: string;
  /** State root (default $XDG_RUNTIME_DIR/nsbox or NSBOX_ROOT). */
  root?: string;
  /** Hand the pod to a supervisor process so it outlives this process. */
  detached?: boolean;
  /** Called with warnings, e.g. a single-id mapping (default: stderr). */
  onWarning?: (message: string) => void;
  /** Published ports: "[IP:]HOSTPORT:PODPORT[/tcp|/udp]" or parsed mappings. */
  ports?: (string | PortMapping)[];
  /**
   * builtin (default: the builtin forwarder for -p, no outbound access),
   * pasta (Debian passt: outbound access, pasta serves -p; needs a usable
   * /dev/net/tun) or none (loopback only, no ports).
   */
  network?: NetworkMode | string;
  /** With `network: 'NAME'` (a user network): the pod's extra names on it. */
  networkAliases?: string[];
  /** User networks to join (`nsbox network create`), each with its aliases; the pod can reach their members by name. */
  networks?: NetworkSpec[];
  /** Made by `run` without a pod, for this container: removed with it. */
  ownedBy?: string;
  /** --label KEY=VALUE, or parsed. */
  labels?: string[] | Record<string, string>;
  /** --add-host NAME:IP: extra /etc/hosts entries of every container of the pod. */
  addHosts?: string[];
}

const HOSTNAME_PATTERN = /^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,62})$/;

export function newPodId(): string {
  return randomHex(32);
}

export function generatePodName(): string {
  return `pod-${randomHex(4)}`;
}

function validateHostname(h: string): void {
  if (!HOSTNAME_PATTERN.test(h))
    throw new NsboxError('INVALID_HOSTNAME', `invalid hostname ${JSON.stringify(h)}`, 'use letters, digits, dots and dashes, at most 63 characters');
}

/** Removes library pods whose creator is gone (their pause died with it). */
async function collectAbandoned(root: string): Promise<void> {
  sweepIncompletePods(root); // we hold the lock: records missing now never come
  for (const r of listPodRecords(root)) {
    if (r.autoRemove && podStatus(r) === 'exited') await removeTreeAsOwner(statePaths.podDir(root, r.id));
  }
  sweepStaleNames(root);
}

function resolveNames(opts: CreatePodOptions): { name: string; hostname: string } {
  const name = opts.name ?? generatePodName();
  validatePodName(name);
  const hostname = opts.hostname ?? name;
  validateHostname(hostname);
  return { name, hostname };
}

/**
 * Creates a pod under the state lock: checks the name, starts the pause,
 * records it. With `again`, the exited pod of that record is started anew
 * (`pod start`): the same id, name, ports and networks, a new pause and
 * keeper; its container records stay, and on failure its record is put back.
 */
async function createPodLocked(opts: CreatePodOptions, mode: 'library' | 'detached', again?: PodRecord): Promise<{ pod: Pod; warnings: string[] }> {
  const { name, hostname } = resolveNames(opts);
  const root = ensureRuntimeRoot(opts.root ?? defaultRuntimeRoot());
  const mapping = chooseMapping();
  const warnings = [mappingWarning(mapping)].filter((w): w is string => !!w);
  const id = again?.id ?? newPodId();
  // A failed start must not lose the pod a `pod start` was given.
  const discardState = () => (again ? writePodRecord(root, again) : removePodState(root, id));
  const labels = asNsboxError(() => toLabels(opts.labels));
  const extraHosts = (opts.addHosts ?? []).map(parseAddHost).join('');
  const asked = (opts.ports ?? []).flatMap((p) => (typeof p === 'string' ? parsePortSpecs(p) : [p]));
  const modes = ['builtin', 'pasta', 'none'];
  const joining: NetworkSpec[] = [...(opts.networks ?? [])];
  if (opts.network !== undefined && !modes.includes(opts.network)) joining.unshift({ name: opts.network, aliases: opts.networkAliases });
  else if (opts.networkAliases?.length) throw new NsboxError('INVALID_NETWORK', 'network aliases need a user network', 'give --network NAME (from `nsbox network create`) with --network-alias');
  const network = (joining.length ? 'builtin' : (opts.network ?? 'builtin')) as NetworkMode;
  checkNetworkSpecs(joining);
  if (joining.length && opts.network !== undefined && modes.includes(opts.network) && opts.network !== 'builtin')
    throw new NsboxError('INVALID_NETWORK', `--network ${opts.network} cannot be combined with user networks`, 'give only user networks (their pods have no outbound access)');
  if (network !== 'builtin' && network !== 'none' && network !== 'pasta')
    throw new NsboxError('INVALID_NETWORK', `unknown network mode ${JSON.stringify(network)}`, 'use --network builtin, pasta or none');
  if (network === 'none' && asked.length) throw new NsboxError('INVALID_NETWORK', '--network none publishes no ports', 'drop -p, or use --network builtin');
  if (network === 'pasta') {
    const support = pastaSupport();
    if (!support.ok) throw new NsboxError('PASTA_UNAVAILABLE', `--network pasta: ${support.problem}`, support.fix);
  }
  let ports: PortMapping[] = asked;
  let prepared: PreparedJoin | null = null;
  return withStateLock(root, async () => {
    await collectAbandoned(root);
    if (!joining.length) return createLocked();
    return withNetworkLock(root, async () => {
      try {
        prepared = await prepareJoin(root, joining);
        return await createLocked();
      } finally {
        closePrepared(prepared);
      }
    });
  });

  async function createLocked(): Promise<{ pod: Pod; warnings: string[] }> {
    // By id and through the name index (kept under this lock by writePodRecord): no listing of every pod.
    if (again && podStatus(readPodRecord(root, id) ?? again) !== 'exited')
      throw new NsboxError('POD_STATE', `pod ${name} was started meanwhile`, 'see `nsbox pod ls`');
    const holder = findPodByName(root, name);
    if (holder && holder.id !== again?.id)
      throw new NsboxError('DUPLICATE_NAME', `a pod named ${name} already exists`, `choose another name or remove it with \`nsbox pod rm -f ${name}\``);
    // Detached: the shim's middle process becomes the pod's keeper (parent
    // of the pause, native-shims/keeper), so no Node start sits on the path.
    // Host ports first: "address already in use" must fail before the pod exists.
    const listeners = await openHostListeners(asked);
    // What is published: each port as bound (a free one where 0 was asked).
    ports = listeners.map((l) => l.mapping);
    if (network === 'pasta') {
      closeHostListeners(listeners); // only a check (and the choice of free ports): pasta binds them itself
      return createWithListeners([]);
    }
    try {
      return await createWithListeners(listeners);
    } finally {
      closeHostListeners(listeners); // the keeper, or the library pod, holds its own copies
    }
  }

  async function createWithListeners(listeners: HostListener[]): Promise<{ pod: Pod; warnings: string[] }> {
    const podDir = statePaths.podDir(root, id);
    const control = mode === 'detached' ? keeperControl() : null;
    let pause: PauseProcess;
    try {
      const keeper = control ? { argv: [podDir, String(listeners.length), CHILD_PID], fds: [control.theirs, ...listeners.map((l) => l.fd)] } : undefined;
      pause = await startPause({ hostname, mapping, keeper, ...(prepared ? { nestIn: { pidfd: prepared.pidfd, newUserns: true } } : {}) });
    } catch (err) {
      if (control) closeFd(control.ours);
      throw err;
    } finally {
      if (control) closeFd(control.theirs);
    }
    let record: PodRecord = {
      id,
      name,
      hostname,
      createdAt: again?.createdAt ?? new Date().toISOString(),
      mapping: mapping.kind,
      pause: { pid: pause.pid, startTime: pause.startTime },
      supervisor: { ...(pause.supervisor ?? identify(process.pid)!), mode },
      autoRemove: mode === 'library',
      ports,
      ...(control ? { keeperListeners: listeners.length } : {}),
      network,
      ...((again ? again.rootfs : process.env.NSBOX_ROOTFS === 'copy' ? 'copy' : undefined) ? { rootfs: 'copy' as const } : {}),
      ...(opts.ownedBy ? { ownedBy: opts.ownedBy } : {}),
      ...(Object.keys(labels).length ? { labels } : {}),
      ...(prepared ? { nestedIn: prepared.userns.id } : {}),
    };
    try {
      writePodRecord(root, record);
      if (extraHosts) writeFileSync(join(statePaths.podDir(root, id), EXTRA_HOSTS_FILE), extraHosts, { mode: 0o644 });
      if (prepared) record = await joinAll(root, record, prepared);
    } catch (err) {
      if (control) closeFd(control.ours);
      await discardPause(pause);
      discardState();
      throw err;
    }
    if (control) {
      // Ready when the keeper says so: its port server (forwarder or pasta) is up.
      const slots = keeperSlots(listeners.length);
      const portServer =
        network === 'pasta'
          ? { kind: 'pasta' as const, plan: pastaPlan(pause.pid, ports, podDir, slots.stdout) }
          : listeners.length
            ? { kind: 'forward' as const, plan: forwarderPlan(slots.pausePidfd, listeners.map((l, i) => ({ fd: keeperListenerFd(i), mapping: l.mapping }))) }
            : { kind: 'none' as const };
      try {
        await initKeeper(control.ours, { socketPath: statePaths.podSocket(root, id), portServer, podDir });
      } catch (err) {
        await discardPause(pause);
        discardState();
        throw err;
      }
      return { pod: new Pod(root, record), warnings };
    }
    const pod = new Pod(root, record, pause.pidfd);
    rememberLocalPod(pod);
    if (listeners.length || network === 'pasta') {
      // Kept running: started again if it dies; taken down with the pod if it cannot be.
      const giveUp = (err: unknown) => {
        writeNetworkError(root, id, err);
        kill(pause.pid, 9);
      };
      // Raw copies of the listeners for the forwarder (this process's own
      // would be accepted from by its event loop): kept while the pod runs.
      const held = listeners.map((l) => ({ fd: dupFd(l.fd), mapping: l.mapping }));
      const release = () => held.forEach((h) => h.fd >= 0 && closeFd(h.fd));
      const server =
        network === 'pasta'
          ? new PortServer(() => startPasta(pause.pid, ports, podDir), giveUp)
          : new PortServer(() => startForwarder(pause.pidfd, held), giveUp, release);
      try {
        if (held.some((h) => h.fd < 0)) throw new NsboxError('PORT_FAILED', 'cannot keep the published ports open: out of file descriptors', 'raise `ulimit -n`');
        await server.begin();
        pod.attachPortServer(server);
      } catch (err) {
        // No half-made pod: without its forwarder the ports would be dead.
        // (We hold the state lock here, so not pod.remove.)
        server.close();
        forgetLocalPod(pod);
        kill(pause.pid, 9); // the pod's own exit handler closes the pidfd
        await reaper.wait(pause.pid);
        discardState();
        throw err;
      }
    }
    return { pod, warnings };
  }
}

async function discardPause(pause: PauseProcess): Promise<void> {
  if (pause.supervisor) {
    // The pause first, while its keeper (its parent) lives and so its pid
    // cannot be reused; then the keeper, whose files must be done before ours
    // go. Both are waited for: the pause ends only once every process of its
    // PID namespace has, so nothing of the pod outlives the failed create.
    kill(pause.pid, 9);
    kill(pause.supervisor.pid, 9);
    for (let i = 0; i < 1000 && (isAlive(pause.supervisor) || isAlive(pause)); i++) await new Promise((r) => setTimeout(r, 2));
    return;
  }
  kill(pause.pid, 9);
  closeFd(pause.pidfd);
  await reaper.wait(pause.pid);
}

/**
 * Starts an exited detached pod again (podman's `pod start`), as it was
 * made: same id, name, hostname, labels, published ports (a port first
 * chosen free is asked for again) and networks with their aliases.
 */
export async function startPodAgain(root: string, rec: PodRecord): Promise<Pod> {
  const opts: CreatePodOptions = {
    root,
    name: rec.name,
    hostname: rec.hostname,
    labels: rec.labels ?? {},
    ports: rec.ports ?? [],
    network: rec.network ?? 'builtin',
    networks: Object.entries(rec.networks ?? {}).map(([name, on]) => ({ name, aliases: on.aliases })),
    ...(rec.ownedBy ? { ownedBy: rec.ownedBy } : {}),
    detached: true,
  };
  const { pod, warnings } = await createPodLocked(opts, 'detached', rec);
  for (const w of warnings) process.stderr.write(`nsbox: warning: ${w}\n`);
  return pod;
}

/** Creates a pod: supervised by this process, or detached (kept by a supervisor process). */
export async function createPod(opts: CreatePodOptions = {}): Promise<Pod> {
  const { pod, warnings } = await createPodLocked(opts, opts.detached ? 'detached' : 'library');
  pod.dataRoot = opts.root ?? defaultDataRoot();
  const warn = opts.onWarning ?? ((m: string) => process.stderr.write(`nsbox: warning: ${m}\n`));
  for (const w of warnings) warn(w);
  return pod;
}
