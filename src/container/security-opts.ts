// --security-opt, as podman takes it: seccomp=unconfined|PROFILE.json,
// no-new-privileges (always on here, so accepted as it is), mask=/unmask=
// for the kernel paths covered in the container (plans.ts's MASKED_PATHS and
// READONLY_PATHS). Options nsbox cannot honour (label=, apparmor=) are
// refused, not ignored.
import { statSync } from 'node:fs';
import { posix } from 'node:path';
import { NsboxError } from '../errors.js';
import type { MaskedPath } from './plans.js';
import { seccompChoice, type SeccompChoice } from './seccomp.js';

export interface SecurityOptions {
  seccomp: SeccompChoice;
  /** More paths to mask (under /proc or /sys). */
  mask: string[];
  /** Default paths to leave uncovered, or ALL. */
  unmask: string[];
}

const HINT = 'use seccomp=unconfined, seccomp=PROFILE.json, no-new-privileges, mask=PATH[:PATH...] or unmask=ALL|PATH[:PATH...]';

function kernelPaths(value: string, opt: string, allowAll: boolean): string[] {
  return value.split(':').map((p) => {
    if (allowAll && p === 'ALL') return p;
    const norm = posix.normalize(p);
    if (!p.startsWith('/') || norm !== p.replace(/\/+$/, '') || !/^\/(proc|sys)\/./.test(norm))
      throw new NsboxError('INVALID_ARGUMENT', `invalid path ${JSON.stringify(p)} in --security-opt ${opt}`, `give absolute paths under /proc or /sys, separated by ":"${allowAll ? ', or ALL' : ''}`);
    return norm;
  });
}

export function parseSecurityOpts(list: readonly string[] = []): SecurityOptions {
  const out: SecurityOptions = { seccomp: 'default', mask: [], unmask: [] };
  for (const opt of list) {
    const eq = opt.indexOf('=');
    const [key, value] = eq < 0 ? [opt, ''] : [opt.slice(0, eq), opt.slice(eq + 1)];
    if (key === 'no-new-privileges' && (eq < 0 || value === 'true')) continue;
    if (key === 'seccomp' && eq >= 0) out.seccomp = seccompChoice(value);
    else if (key === 'mask' && value) out.mask.push(...kernelPaths(value, opt, false));
    else if (key === 'unmask' && value) out.unmask.push(...kernelPaths(value, opt, true));
    else if (key === 'no-new-privileges')
      throw new NsboxError('INVALID_ARGUMENT', `--security-opt ${opt}: containers always run with no_new_privs`, 'leave it out, or give no-new-privileges');
    else throw new NsboxError('INVALID_ARGUMENT', `unknown --security-opt ${JSON.stringify(opt)}`, HINT);
  }
  return out;
}

/** The kernel's masks after unmask= and mask= (a mask= path missing on this kernel is left out, as the defaults are). */
export function adjustMasks(base: { masked: MaskedPath[]; readOnly: string[] }, o: { mask?: string[]; unmask?: string[] }): { masked: MaskedPath[]; readOnly: string[] } {
  const unmask = o.unmask ?? [];
  const kept = (p: string) => !unmask.includes('ALL') && !unmask.includes(p);
  const masked = base.masked.filter((m) => kept(m.path));
  for (const path of o.mask ?? []) {
    if (masked.some((m) => m.path === path)) continue;
    try {
      masked.push({ path, dir: statSync(path).isDirectory() });
    } catch {
      // not on this kernel
    }
  }
  return { masked, readOnly: base.readOnly.filter(kept) };
}
