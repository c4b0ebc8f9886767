// Runs a SpawnPlan through the shim and turns a failure into a SyscallError
// that names the step, the errno and what to do about it.
import { SyscallError } from '../errors.js';
import { reaper } from './reaper.js';
import { Errno } from '../core/errno.js';
import { spawnPlan, spawnPlanSync, type SpawnResult } from './ffi.js';
import { describePlan, encodePlan, type AnyStep, type SpawnPlan } from './plan.js';

const SECTION = { setup: 0, middle: 1, after: 2, child: 3 } as const;
const SETUP_STEPS = ['parsing the plan', 'creating pipes', 'clone of the pod process', 'clone of the helper process', 'the helper process was killed'];

export class SpawnFailure extends SyscallError {
  constructor(
    readonly failedStep: AnyStep | null,
    stepText: string,
    errno: number,
    readonly result: SpawnResult,
    hint?: string,
  ) {
    super(stepText, errno, hint);
  }
}

function describeStep(step: AnyStep | null, section: number, index: number): string {
  if (!step) return SETUP_STEPS[index] ?? `setup step ${index}`;
  switch (step.op) {
    case 'setnsPidfd':
    case 'setnsFd':
      return "setns into the pod's namespaces";
    case 'run':
      return `${step.argv[0]}`;
    case 'writeProc':
      return `writing ${step.file}`;
    case 'mount':
      return `mount ${step.fstype || step.source} on ${step.target}`;
    case 'exec':
      return `exec ${step.file}`;
    case 'chdir':
      return `chdir ${step.path}`;
    case 'mkdir':
      return `mkdir ${step.path}`;
    case 'touch':
      return `creating ${step.path}`;
    case 'symlink':
      return `symlink ${step.path}`;
    case 'pivotRoot':
      return `pivot_root into ${step.path}`;
    case 'setIds':
      return `switching to uid ${step.uid}, gid ${step.gid}`;
    default:
      return section === SECTION.child ? step.op : `${step.op} (helper)`;
  }
}

function hintFor(step: AnyStep | null, setupIndex: number, errno: number, result: SpawnResult): string | undefined {
  if (!step && setupIndex === 2) {
    if (errno === Errno.ENOSPC) return 'the user namespace limit is reached: raise sysctl user.max_user_namespaces';
    if (errno === Errno.EPERM || errno === Errno.EINVAL || errno === Errno.EACCES)
      return 'unprivileged user namespaces look disabled: set sysctl kernel.unprivileged_userns_clone=1 and user.max_user_namespaces>0 (run `nsbox check`)';
  }
  if (!step) return undefined;
  if (step.op === 'run') {
    const code = (result.detail >> 8) & 0xff;
    return `it exited with status ${code}; check the ranges for this user in /etc/subuid and /etc/subgid (run \`nsbox check\`)`;
  }
  if (step.op === 'writeProc' && errno === Errno.EPERM)
    return "this looks like Ubuntu's AppArmor restriction (kernel.apparmor_restrict_unprivileged_userns=1); run `nsbox check`";
  if (step.op === 'mount' && step.fstype === 'proc' && errno === Errno.EPERM)
    return '/proc is masked or read-only here (e.g. inside a container); nsbox needs an unmasked /proc (run `nsbox check`)';
  if (step.op === 'setnsPidfd' && errno === Errno.ESRCH) return 'the pod has stopped; create it again';
  if (step.op === 'setIds' && errno === Errno.EINVAL) return 'that id is not mapped into the pod: give this user a range in /etc/subuid and /etc/subgid (run `nsbox check`)';
  if (step.op === 'mount' && step.fstype === 'overlay') return 'overlayfs refused the layers; run `nsbox check` (native overlayfs in user namespaces needs Linux 5.11+)';
  const scoped = 'scope' in step && step.scope !== undefined && step.scope !== 'host' ? step.scope : null;
  if (scoped && errno === Errno.ELOOP) {
    const path = step.op === 'mount' ? step.target : 'path' in step ? step.path : '';
    return scoped === 'rootNoSymlinks'
      ? `the image's ${path} is a symlink; it must be a real directory`
      : `${path} leads through a /proc link such as /proc/1/root, which nsbox never follows: fix the image or the path`;
  }
  if (scoped && (errno === Errno.ENOENT || errno === Errno.ENOTDIR))
    return 'an image symlink on that path is followed inside the container, where its target does not exist: fix the image';
  return undefined;
}

function sectionSteps(plan: SpawnPlan, section: number): AnyStep[] {
  return section === SECTION.middle ? plan.middle : section === SECTION.after ? plan.after : section === SECTION.child ? plan.child : [];
}

/** The failure a result reports, named by the plan's step (also for plans another process ran: the keeper). */
export function spawnFailure(plan: SpawnPlan, result: SpawnResult): SpawnFailure {
  const steps = sectionSteps(plan, result.section);
  const step = result.section === SECTION.setup ? null : (steps[result.step] ?? null);
  const errno = result.err || Errno.ECHILD;
  return new SpawnFailure(step, describeStep(step, result.section, result.step), errno, result, hintFor(step, result.step, errno, result));
}

async function check(plan: SpawnPlan, result: SpawnResult): Promise<SpawnResult> {
  if (result.section < 0 && result.rc === 0) return result;
  // It died or was killed: reap it, unless the middle process did.
  if (result.pid > 0 && !plan.finalIsMiddlesChild) await reaper.wait(result.pid);
  throw spawnFailure(plan, result);
}

/** Spawns the plan's final process; resolves to its pid (our child). */
export async function runPlan(plan: SpawnPlan, opts: { blocking?: boolean } = {}): Promise<number> {
  return (await runPlanDetailed(plan, opts)).pid;
}

/** As runPlan, with the middle process's fate (see execMiddle). */
export async function runPlanDetailed(plan: SpawnPlan, opts: { blocking?: boolean } = {}): Promise<SpawnResult> {
  const encoded = encodePlan(plan);
  if (process.env.NSBOX_DEBUG) process.stderr.write(`nsbox: plan\n${describePlan(plan)}\n`);
  const result = opts.blocking ? spawnPlanSync(encoded) : await spawnPlan(encoded);
  return check(plan, result);
}
