// The verdicts of `nsbox check` on the live pod probe (live-pod.ts): what
// the real creation path did on this machine, in one line each.
import type { PodProbe } from './live-pod.js';
import type { CheckResult } from './probes.js';

const ms = (n: number | undefined) => `${(n ?? 0).toFixed(1)} ms`;

/** What the pause's uid_map says about the pod's mapping. */
function mappingText(uidMap: string | undefined): string {
  if (!uidMap) return 'unknown mapping';
  const lines = uidMap.split('; ');
  if (lines.length === 1 && lines[0] === '0 0 4294967295') return 'every id mapped 1:1 (root)';
  if (lines.length === 1) return `one id mapped (uid_map ${uidMap})`;
  return `a subordinate range mapped by newuidmap/newgidmap (uid_map ${uidMap})`;
}

/** A probe that could not start: what it waits for, and where the fix is. */
export interface NotTried {
  why: string;
  fix: string;
}

export function checkPod(probe: PodProbe | NotTried): CheckResult {
  const base = { id: 'pod', title: 'pod creation' };
  if ('why' in probe) return { ...base, status: 'fail', detail: `not tried: ${probe.why}`, fix: probe.fix };
  if (probe.stage === 'create' || probe.stage === 'exec') {
    const [what, verb] = probe.stage === 'create' ? ['creating a pod failed', 'pod create'] : ['a pod was created, but exec into it failed', 'exec POD -- true'];
    return { ...base, status: 'fail', detail: `${what}: ${probe.error}`, fix: `\`nsbox --debug ${verb}\` shows the failing step` };
  }
  if (probe.pid1 !== '/pause')
    return { ...base, status: 'fail', detail: `exec into the pod saw ${JSON.stringify(probe.pid1)} as PID 1, not /pause`, fix: 'report this as a bug, with `nsbox --debug exec POD -- ps aux`' };
  const warned = probe.warnings.length ? `; warned: ${probe.warnings.join('; ')}` : '';
  const status = probe.warnings.length ? 'warn' : 'ok';
  const detail = `a pod started in ${ms(probe.createMs)} with ${mappingText(probe.uidMap)}, and an exec joined it by pidfd in ${ms(probe.execMs)} (PID 1: /pause)${warned}`;
  return { ...base, status, detail, ...(status === 'warn' ? { fix: 'see the subuid/subgid and newuidmap checks' } : {}) };
}

export function checkContainer(probe: PodProbe | NotTried): CheckResult {
  const base = { id: 'container', title: 'containers' };
  if ('why' in probe) return { ...base, status: 'fail', detail: `not tried: ${probe.why}`, fix: probe.fix };
  if (probe.stage === 'create' || probe.stage === 'exec' || probe.pid1 !== '/pause')
    return { ...base, status: 'fail', detail: 'not tried: the pod probe failed', fix: 'see the pod creation check' };
  const c = probe.container;
  if (probe.stage === 'container' || !c) {
    return { ...base, status: 'fail', detail: `running a container from a one-file image failed: ${probe.error ?? 'no result'}`, fix: '`nsbox --debug run --pod POD IMAGE` shows the failing step' };
  }
  const root = c.rootfs === 'overlay' ? 'an overlayfs root' : c.copyForced ? 'a copy of its image (NSBOX_ROOTFS=copy)' : `a copy of its image (overlayfs refused: ${c.overlayRefusal ?? 'unknown'})`;
  const detail = `a container ran from a one-file image on ${root} in its own mount namespace (${ms(c.ms)}, exit ${c.exitCode}, printed ${JSON.stringify(c.stdout.trim())})`;
  if (!probe.ok) return { ...base, status: 'warn', detail: `${detail}, but cleaning up failed: ${probe.error}`, fix: `remove ${probe.root}` };
  return { ...base, status: 'ok', detail };
}
