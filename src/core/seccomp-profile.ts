// Seccomp profiles in the OCI/docker JSON format: validated field by field
// (an unknown or malformed field is refused by name, never ignored), then
// reduced to the rules that apply to one container: its architecture, its
// capabilities and the running kernel decide which entries count, as runc,
// crun and docker read the format. Pure: the caller reads the file.

/** A refusal naming the field at fault (`syscalls[3].action`). */
export class ProfileError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'ProfileError';
  }
}

export type ProfileAction = 'SCMP_ACT_KILL' | 'SCMP_ACT_KILL_THREAD' | 'SCMP_ACT_KILL_PROCESS' | 'SCMP_ACT_TRAP' | 'SCMP_ACT_ERRNO' | 'SCMP_ACT_TRACE' | 'SCMP_ACT_ALLOW' | 'SCMP_ACT_LOG';

/** libseccomp's action values (seccomp.h); ERRNO and TRACE carry their number in the low 16 bits. */
const ACTIONS: Record<ProfileAction, number> = {
  SCMP_ACT_KILL: 0x00000000,
  SCMP_ACT_KILL_THREAD: 0x00000000,
  SCMP_ACT_KILL_PROCESS: 0x80000000,
  SCMP_ACT_TRAP: 0x00030000,
  SCMP_ACT_ERRNO: 0x00050000,
  SCMP_ACT_TRACE: 0x7ff00000,
  SCMP_ACT_LOG: 0x7ffc0000,
  SCMP_ACT_ALLOW: 0x7fff0000,
};

/** enum scmp_compare. */
const OPERATORS: Record<string, number> = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};

/** The errno an ERRNO action returns when the profile gives none (runc's and crun's choice). */
const DEFAULT_ERRNO = 1;

export interface ProfileArg {
  index: number;
  value: bigint;
  valueTwo: bigint;
  op: string;
}

interface Filter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

export interface ProfileRule {
  names: string[];
  action: ProfileAction;
  errnoRet?: number;
  args: ProfileArg[];
  includes: Filter;
  excludes: Filter;
}

export interface SeccompProfile {
  defaultAction: ProfileAction;
  defaultErrnoRet?: number;
  architectures: string[];
  archMap: { architecture: string; subArchitectures: string[] }[];
  syscalls: ProfileRule[];
}

type Json = Record<string, unknown>;

function object(v: unknown, field: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProfileError(field, 'must be an object');
  return v as Json;
}

function onlyKeys(o: Json, field: string, keys: readonly string[]): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new ProfileError(field ? `${field}.${k}` : k, `unknown field (known: ${keys.join(', ')})`);
}

function strings(v: unknown, field: string, pattern?: RegExp): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ProfileError(field, 'must be an array of strings');
  return v.map((s, i) => {
    if (typeof s !== 'string' || s === '' || (pattern && !pattern.test(s))) throw new ProfileError(`${field}[${i}]`, `invalid value ${JSON.stringify(s)}`);
    return s;
  });
}

function action(v: unknown, field: string): ProfileAction {
  if (v === 'SCMP_ACT_NOTIFY') throw new ProfileError(field, 'SCMP_ACT_NOTIFY needs a seccomp agent, which nsbox has not');
  if (typeof v !== 'string' || !(v in ACTIONS)) throw new ProfileError(field, `unknown action ${JSON.stringify(v)} (known: ${Object.keys(ACTIONS).join(', ')})`);
  return v as ProfileAction;
}

function errno(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 4095) throw new ProfileError(field, `must be an errno number from 0 to 4095, not ${JSON.stringify(v)}`);
  return v;
}

function u64(v: unknown, field: string): bigint {
  if (v === undefined) return 0n;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > Number.MAX_SAFE_INTEGER) throw new ProfileError(field, `must be a whole number, not ${JSON.stringify(v)}`);
  return BigInt(v);
}

const CAP = /^CAP_[A-Z_]+$/;
const KERNEL = /^\d+\.\d+$/;
const SYSCALL = /^[a-z0-9_]+$/;
const ARCH = /^SCMP_ARCH_[A-Z0-9_]+$/;

function filter(v: unknown, field: string): Filter {
  if (v === undefined || v === null) return {};
  const o = object(v, field);
  onlyKeys(o, field, ['caps', 'arches', 'minKernel']);
  const f: Filter = {};
  if (o.caps !== undefined) f.caps = strings(o.caps, `${field}.caps`, CAP);
  if (o.arches !== undefined) f.arches = strings(o.arches, `${field}.arches`);
  if (o.minKernel !== undefined) {
    if (typeof o.minKernel !== 'string' || !KERNEL.test(o.minKernel)) throw new ProfileError(`${field}.minKernel`, `must be a kernel version such as "5.8", not ${JSON.stringify(o.minKernel)}`);
    f.minKernel = o.minKernel;
  }
  return f;
}

function args(v: unknown, field: string): ProfileArg[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ProfileError(field, 'must be an array');
  return v.map((a, i) => {
    const f = `${field}[${i}]`;
    const o = object(a, f);
    onlyKeys(o, f, ['index', 'value', 'valueTwo', 'op']);
    if (typeof o.index !== 'number' || !Number.isInteger(o.index) || o.index < 0 || o.index > 5) throw new ProfileError(`${f}.index`, 'must be an argument index from 0 to 5');
    if (typeof o.op !== 'string' || !(o.op in OPERATORS)) throw new ProfileError(`${f}.op`, `unknown operator ${JSON.stringify(o.op)} (known: ${Object.keys(OPERATORS).join(', ')})`);
    return { index: o.index, value: u64(o.value, `${f}.value`), valueTwo: u64(o.valueTwo, `${f}.valueTwo`), op: o.op };
  });
}

function rule(v: unknown, field: string): ProfileRule {
  const o = object(v, field);
  onlyKeys(o, field, ['names', 'name', 'action', 'errnoRet', 'args', 'comment', 'includes', 'excludes']);
  const names = [...strings(o.names, `${field}.names`, SYSCALL), ...(o.name !== undefined ? strings([o.name], `${field}.name`, SYSCALL) : [])];
  if (names.length === 0) throw new ProfileError(`${field}.names`, 'names no system call');
  if (o.comment !== undefined && typeof o.comment !== 'string') throw new ProfileError(`${field}.comment`, 'must be a string');
  const act = action(o.action, `${field}.action`);
  const ret = errno(o.errnoRet, `${field}.errnoRet`);
  if (ret !== undefined && act !== 'SCMP_ACT_ERRNO' && act !== 'SCMP_ACT_TRACE') throw new ProfileError(`${field}.errnoRet`, `only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take a number, not ${act}`);
  return { names, action: act, ...(ret !== undefined ? { errnoRet: ret } : {}), args: args(o.args, `${field}.args`), includes: filter(o.includes, `${field}.includes`), excludes: filter(o.excludes, `${field}.excludes`) };
}

/** Parses and validates a profile's text; every refusal names its field. */
export function parseProfile(text: string): SeccompProfile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ProfileError('(file)', `not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const o = object(raw, '(file)');
  onlyKeys(o, '', ['defaultAction', 'defaultErrnoRet', 'architectures', 'archMap', 'syscalls', 'flags']);
  const flags = strings(o.flags, 'flags');
  if (flags.length) throw new ProfileError('flags', `${flags.join(', ')}: filter flags are not supported`);
  if (o.defaultAction === undefined) throw new ProfileError('defaultAction', 'is missing');
  const archMap = o.archMap === undefined || o.archMap === null ? [] : o.archMap;
  if (!Array.isArray(archMap)) throw new ProfileError('archMap', 'must be an array');
  const syscalls = o.syscalls === undefined || o.syscalls === null ? [] : o.syscalls;
  if (!Array.isArray(syscalls)) throw new ProfileError('syscalls', 'must be an array');
  const defaultErrnoRet = errno(o.defaultErrnoRet, 'defaultErrnoRet');
  return {
    defaultAction: action(o.defaultAction, 'defaultAction'),
    ...(defaultErrnoRet !== undefined ? { defaultErrnoRet } : {}),
    architectures: strings(o.architectures, 'architectures', ARCH),
    archMap: archMap.map((m, i) => {
      const f = `archMap[${i}]`;
      const e = object(m, f);
      onlyKeys(e, f, ['architecture', 'subArchitectures']);
      const [architecture] = strings([e.architecture], `${f}.architecture`, ARCH);
      return { architecture: architecture!, subArchitectures: strings(e.subArchitectures, `${f}.subArchitectures`, ARCH) };
    }),
    syscalls: syscalls.map((r, i) => rule(r, `syscalls[${i}]`)),
  };
}

/** What the profile means for one container: numbers libseccomp takes. */
export interface ResolvedFilter {
  defaultAction: number;
  /** libseccomp's names for the architectures the filter covers (x86_64, x86, x32...). */
  arches: string[];
  rules: { name: string; action: number; args: { index: number; op: number; a: bigint; b: bigint }[] }[];
}

export interface Target {
  /** The native architecture as libseccomp names it in profiles: SCMP_ARCH_X86_64. */
  scmpArch: string;
  /** The same as the format's includes.arches names it (Go's names): amd64. */
  goArch: string;
  /** Capability names the container keeps, with or without CAP_. */
  capabilities: readonly string[];
  /** The running kernel's release (uname -r). */
  kernel: string;
}

function actionValue(a: ProfileAction, ret: number | undefined): number {
  if (a === 'SCMP_ACT_ERRNO') return (ACTIONS[a] | ((ret ?? DEFAULT_ERRNO) & 0xffff)) >>> 0;
  if (a === 'SCMP_ACT_TRACE') return (ACTIONS[a] | ((ret ?? 0) & 0xffff)) >>> 0;
  return ACTIONS[a] >>> 0;
}

function kernelAtLeast(kernel: string, min: string): boolean {
  const [a = 0, b = 0] = kernel.split(/[.-]/).map(Number);
  const [x = 0, y = 0] = min.split('.').map(Number);
  return a > x || (a === x && b >= y);
}

/** Does a rule count for this container? includes: all of them must hold; excludes: none may. */
function applies(r: ProfileRule, t: Target, caps: Set<string>): boolean {
  const inc = r.includes;
  const exc = r.excludes;
  if (inc.caps && !inc.caps.every((c) => caps.has(c))) return false;
  if (inc.arches && !inc.arches.includes(t.goArch)) return false;
  if (inc.minKernel && !kernelAtLeast(t.kernel, inc.minKernel)) return false;
  if (exc.caps && exc.caps.some((c) => caps.has(c))) return false;
  if (exc.arches && exc.arches.includes(t.goArch)) return false;
  if (exc.minKernel && kernelAtLeast(t.kernel, exc.minKernel)) return false;
  return true;
}

const libseccompArch = (scmp: string): string => scmp.replace(/^SCMP_ARCH_/, '').toLowerCase();

export function resolveProfile(p: SeccompProfile, t: Target): ResolvedFilter {
  const caps = new Set(t.capabilities.map((c) => (c.startsWith('CAP_') ? c : `CAP_${c}`)));
  const arches = new Set<string>([t.scmpArch]);
  for (const a of p.architectures) arches.add(a);
  for (const m of p.archMap) if (m.architecture === t.scmpArch) for (const s of m.subArchitectures) arches.add(s);
  const defaultAction = actionValue(p.defaultAction, p.defaultErrnoRet);
  const rules: ResolvedFilter['rules'] = [];
  for (const r of p.syscalls) {
    if (!applies(r, t, caps)) continue;
    const value = actionValue(r.action, r.errnoRet);
    // libseccomp refuses a rule that only restates the default.
    if (value === defaultAction) continue;
    const a = r.args.map((x) => ({ index: x.index, op: OPERATORS[x.op]!, a: x.value, b: x.valueTwo }));
    for (const name of r.names) rules.push({ name, action: value, args: a });
  }
  return { defaultAction, arches: [...arches].map(libseccompArch), rules };
}
