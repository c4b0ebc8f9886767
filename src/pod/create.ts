// Creating pods. In-process: this process becomes the pod's supervisor
// (library default; also what the nsbox supervisor process does). Detached:
// an nsbox supervisor process is started and the pod outlives its creator.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { NsboxError } from '../errors.js';
import { chooseMapping, mappingWarning } from '../idmap/mapping.js';
import { artifacts, requireArtifact } from '../native/artifacts.js';
import { closeFd, kill } from '../native/ffi.js';
import { identify } from '../process/proc-stat.js';
import { reaper } from '../process/reaper.js';
import { withStateLock } from '../state/lock.js';
import { defaultRuntimeRoot, ensureRuntimeRoot } from '../state/paths.js';
import type { SupervisorStartReport } from '../supervisor/protocol.js';
import { startPause } from './pause-process.js';
import { Pod, rememberLocalPod } from './pod.js';
import { podStatus, type PodRecord } from './record.js';
import { findPod, listPodRecords, removePodState, validatePodName, writePodRecord } from './store.js';

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
}

const HOSTNAME_PATTERN = /^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,62})$/;

export function newPodId(): string {
  return randomBytes(32).toString('hex');
}

export function generatePodName(): string {
  return `pod-${randomBytes(4).toString('hex')}`;
}

function validateHostname(h: string): void {
  if (!HOSTNAME_PATTERN.test(h))
    throw new NsboxError('INVALID_HOSTNAME', `invalid hostname ${JSON.stringify(h)}`, 'use letters, digits, dots and dashes, at most 63 characters');
}

/** Removes library pods whose creator is gone (their pause died with it). */
function collectAbandoned(root: string): void {
  for (const r of listPodRecords(root)) {
    if (r.autoRemove && podStatus(r) === 'exited') removePodState(root, r.id);
  }
}

function resolveNames(opts: CreatePodOptions): { name: string; hostname: string } {
  const name = opts.name ?? generatePodName();
  validatePodName(name);
  const hostname = opts.hostname ?? name;
  validateHostname(hostname);
  return { name, hostname };
}

export interface LocalCreateOptions extends CreatePodOptions {
  id?: string;
  mode: 'library' | 'detached';
}

/** Creates a pod supervised by this process. */
export async function createLocalPod(opts: LocalCreateOptions): Promise<{ pod: Pod; warnings: string[] }> {
  const { name, hostname } = resolveNames(opts);
  const root = ensureRuntimeRoot(opts.root ?? defaultRuntimeRoot());
  const mapping = chooseMapping();
  const warnings = [mappingWarning(mapping)].filter((w): w is string => !!w);
  const self = identify(process.pid)!;
  return withStateLock(root, async () => {
    collectAbandoned(root);
    if (listPodRecords(root).some((r) => r.name === name))
      throw new NsboxError('DUPLICATE_NAME', `a pod named ${name} already exists`, `choose another name or remove it with \`nsbox pod rm -f ${name}\``);
    const pause = await startPause({ hostname, mapping });
    const record: PodRecord = {
      id: opts.id ?? newPodId(),
      name,
      hostname,
      createdAt: new Date().toISOString(),
      mapping: mapping.kind,
      pause: { pid: pause.pid, startTime: pause.startTime },
      supervisor: { ...self, mode: opts.mode },
      autoRemove: opts.mode === 'library',
    };
    try {
      writePodRecord(root, record);
    } catch (err) {
      kill(pause.pid, 9);
      closeFd(pause.pidfd);
      await reaper.wait(pause.pid);
      removePodState(root, record.id);
      throw err;
    }
    const pod = new Pod(root, record, pause.pidfd);
    if (opts.mode === 'library') rememberLocalPod(pod);
    return { pod, warnings };
  });
}

/** Starts an nsbox supervisor process that creates the pod and stays. */
export async function createDetachedPod(opts: CreatePodOptions): Promise<{ pod: Pod; warnings: string[] }> {
  const { name, hostname } = resolveNames(opts);
  const root = ensureRuntimeRoot(opts.root ?? defaultRuntimeRoot());
  const config = { root, name, hostname };
  const child = spawn(process.execPath, [requireArtifact(artifacts.supervisor), JSON.stringify(config)], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const line = await new Promise<string | null>((resolve) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (l) => resolve(l));
    rl.once('close', () => resolve(null));
    child.once('error', () => resolve(null));
  });
  child.stdout!.destroy();
  child.unref();
  const report = line ? (JSON.parse(line) as SupervisorStartReport) : null;
  if (!report) throw new NsboxError('SUPERVISOR_FAILED', 'the pod supervisor exited before reporting', 'run `nsbox check` to see what this machine lacks');
  if (!report.ready) throw new NsboxError(report.error.code, report.error.message, report.error.hint);
  return { pod: new Pod(root, findPod(root, report.id)), warnings: report.warnings };
}

/** Creates a pod: supervised by this process, or detached. */
export async function createPod(opts: CreatePodOptions = {}): Promise<Pod> {
  const { pod, warnings } = opts.detached ? await createDetachedPod(opts) : await createLocalPod({ ...opts, mode: 'library' });
  const warn = opts.onWarning ?? ((m: string) => process.stderr.write(`nsbox: warning: ${m}\n`));
  for (const w of warnings) warn(w);
  return pod;
}
