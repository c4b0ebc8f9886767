// `nsbox check`: can this machine run rootless pods, and if not, the exact fix.
// The CLI prints formatCheckReport(report), or JSON.stringify(report).
// First the installed artifacts, then the machine (sysctls, files, util-linux
// probes), last the real thing: a pod and a container made by the library.
import { checkArtifacts, installedArtifacts } from './artifacts.js';
import { probePod, type PodProbe, type PodProbeOptions } from './live-pod.js';
import { checkContainer, checkPod, type NotTried } from './pod-checks.js';
import {
  checkAppArmor,
  checkCgroup,
  checkNetworkModes,
  checkIdmapHelpers,
  checkOverlay,
  checkProcMask,
  checkRuntimeDir,
  checkSubids,
  checkUserNamespaces,
  defaultCheckEnv,
  probeProcMount,
  probeUserns,
  type CheckEnv,
  type CheckFiles,
  type CheckResult,
} from './probes.js';

export type { CheckEnv, CheckFiles, CheckResult, CheckStatus } from './probes.js';
export { defaultCheckEnv } from './probes.js';

export interface CheckReport {
  /** False iff some check failed; warnings still let pods run, with less. */
  ok: boolean;
  checks: CheckResult[];
}

export interface RunChecksOptions {
  /** The library's createPod, for the live pod check. */
  createPod: PodProbeOptions['createPod'];
  /** Overrides of the real machine's environment (tests point these at files they wrote). */
  env?: Partial<Omit<CheckEnv, 'files'>> & { files?: Partial<CheckFiles> };
}

export async function runChecks(opts: RunChecksOptions): Promise<CheckReport> {
  const defaults = defaultCheckEnv(opts.env?.env);
  const env: CheckEnv = { ...defaults, ...opts.env, files: { ...defaults.files, ...opts.env?.files } };
  const native = await checkArtifacts();
  // A pod needs the shim and the pause; the container runs the pause too (a static program).
  const unusable = native.filter((c) => (c.id === 'shim' || c.id === 'pause') && c.status !== 'ok').map((c) => c.title);
  const live: PodProbe | NotTried = unusable.length
    ? { why: `the ${unusable.join(' and ')} must work first`, fix: `see the ${unusable.join(' and ')} check${unusable.length > 1 ? 's' : ''}` }
    : await probePod({ program: installedArtifacts.pause, createPod: opts.createPod });
  // A container's root decides the overlay check, unless the copy was asked for.
  const container = 'why' in live || live.container?.copyForced ? null : (live.container ?? null);
  // One live userns attempt serves both the userns and AppArmor checks.
  const userns = probeUserns(env);
  const checks = [
    ...native,
    checkUserNamespaces(env, userns),
    checkAppArmor(env, userns),
    checkSubids(env),
    checkIdmapHelpers(env),
    checkRuntimeDir(env),
    // The live procfs mount needs a working user namespace to mean anything.
    checkProcMask(env, userns.ok ? () => probeProcMount(env) : null),
    checkOverlay(env, container),
    checkCgroup(env),
    checkNetworkModes(env),
    checkPod(live),
    checkContainer(live),
  ];
  return { ok: !checks.some((c) => c.status === 'fail'), checks };
}

const MARK = { ok: '✔', warn: '⚠', fail: '✘' } as const;

export function formatCheckLine(c: CheckResult): string {
  const fix = c.status !== 'ok' && c.fix ? ` — fix: ${c.fix}` : '';
  return `${MARK[c.status]} ${c.title}: ${c.detail}${fix}`;
}

export function formatCheckReport(r: CheckReport): string {
  const count = (s: CheckResult['status']) => r.checks.filter((c) => c.status === s).length;
  const warns = count('warn');
  const fails = count('fail');
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const verdict = r.ok
    ? warns
      ? 'rootless pods can run here, with the limits above'
      : 'rootless pods can run here'
    : 'rootless pods cannot run here until the failures are fixed';
  const summary = `${count('ok')} ok, ${plural(warns, 'warning')}, ${plural(fails, 'failure')}: ${verdict}`;
  return [...r.checks.map(formatCheckLine), summary].join('\n');
}
