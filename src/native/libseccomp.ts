// Compiles a resolved seccomp filter to a classic BPF program with the
// system's libseccomp (Debian libseccomp2, libseccomp.so.2), bound with
// ffi-rs. libseccomp rather than a compiler of our own: it knows every
// architecture's syscall numbers (including the x86 and x32 ABIs a 64-bit
// process can still enter through), orders and merges the rules and emits
// the architecture checks that make a filter safe; it is the library runc,
// crun and podman use, so the program a profile gives is theirs. Only the
// compiler runs here: the shim installs the raw program (plan step
// `seccomp`), so the C side stays a single system call.
import { closeSync, openSync, readFileSync, unlinkSync } from 'node:fs';
import { NsboxError } from '../errors.js';
import type { ResolvedFilter } from '../core/seccomp-profile.js';
import { ffiRsModule } from './ffi.js';

const LIB = 'libseccomp';
const SONAME = 'libseccomp.so.2';
/** libseccomp's __NR_SCMP_ERROR: a name this libseccomp does not know. */
const NR_UNKNOWN = -1;
const ARCH_UNKNOWN = 0;
/** SCMP_FLTATR_CTL_OPTIMIZE, and its level 2: the rules as a binary tree sorted by syscall number. */
const ATTR_OPTIMIZE = 8;
const BINARY_TREE = 2;
/** From this many rules on, a linear filter costs every system call more than the tree (runc's threshold). */
const TREE_FROM_RULES = 32;

let bound: ReturnType<typeof bind> | undefined;

function bind() {
  const { DataType, define, open } = ffiRsModule();
  try {
    open({ library: LIB, path: SONAME });
  } catch (err) {
    throw new NsboxError('SECCOMP_UNAVAILABLE', `cannot load ${SONAME} (${err instanceof Error ? err.message : String(err)})`, 'install it (Debian: sudo apt-get install libseccomp2), or run with --security-opt seccomp=unconfined');
  }
  const I = DataType.I32;
  const U = DataType.U32;
  const P = DataType.External;
  return define({
    seccomp_init: { library: LIB, retType: P, paramsType: [U] },
    seccomp_release: { library: LIB, retType: DataType.Void, paramsType: [P] },
    seccomp_arch_resolve_name: { library: LIB, retType: U, paramsType: [DataType.String] },
    seccomp_arch_add: { library: LIB, retType: I, paramsType: [P, U] },
    seccomp_syscall_resolve_name: { library: LIB, retType: I, paramsType: [DataType.String] },
    seccomp_rule_add_array: { library: LIB, retType: I, paramsType: [P, U, I, U, DataType.U8Array] },
    seccomp_export_bpf: { library: LIB, retType: I, paramsType: [P, I] },
    seccomp_attr_set: { library: LIB, retType: I, paramsType: [P, I, U] },
  } as const);
}

const fns = () => (bound ??= bind());

/** struct scmp_arg_cmp[]: unsigned arg, enum op, u64 datum_a, u64 datum_b (24 bytes each). */
function argArray(args: ResolvedFilter['rules'][number]['args']): Buffer {
  const buf = Buffer.alloc(Math.max(1, args.length) * 24);
  args.forEach((a, i) => {
    buf.writeUInt32LE(a.index, i * 24);
    buf.writeUInt32LE(a.op, i * 24 + 4);
    buf.writeBigUInt64LE(a.a, i * 24 + 8);
    buf.writeBigUInt64LE(a.b, i * 24 + 16);
  });
  return buf;
}

function failed(what: string, rc: number): NsboxError {
  return new NsboxError('SECCOMP_COMPILE', `cannot compile the seccomp profile: ${what} (libseccomp error ${rc})`, 'check the rule in the profile, or run with --security-opt seccomp=unconfined');
}

/**
 * The BPF program (struct sock_filter[], 8 bytes an instruction) for the
 * filter, written by libseccomp into `scratch` (a file the caller owns and
 * may keep: the cache writes through it) and read back.
 */
export function compileFilter(filter: ResolvedFilter, scratch: string): Buffer {
  const f = fns();
  const ctx = f.seccomp_init([filter.defaultAction]);
  try {
    if (filter.rules.length > TREE_FROM_RULES) {
      const rc = f.seccomp_attr_set([ctx, ATTR_OPTIMIZE, BINARY_TREE]) as number;
      if (rc < 0) throw failed('binary tree optimization', rc);
    }
    for (const arch of filter.arches) {
      const token = f.seccomp_arch_resolve_name([arch]) as number;
      if (token === ARCH_UNKNOWN) throw failed(`unknown architecture ${arch}`, 0);
      const rc = f.seccomp_arch_add([ctx, token]) as number;
      if (rc < 0 && rc !== -17 /* EEXIST: the native one is there from seccomp_init */) throw failed(`architecture ${arch}`, rc);
    }
    for (const r of filter.rules) {
      const nr = f.seccomp_syscall_resolve_name([r.name]) as number;
      // As runc and crun: a call this libseccomp does not know cannot be made here either.
      if (nr === NR_UNKNOWN) continue;
      const rc = f.seccomp_rule_add_array([ctx, r.action, nr, r.args.length, argArray(r.args)]) as number;
      if (rc < 0) throw failed(`the rule for ${r.name}`, rc);
    }
    const fd = openSync(scratch, 'w', 0o600);
    try {
      const rc = f.seccomp_export_bpf([ctx, fd]) as number;
      if (rc < 0) throw failed('export', rc);
    } finally {
      closeSync(fd);
    }
    const program = readFileSync(scratch);
    if (program.length === 0 || program.length % 8 !== 0) {
      unlinkSync(scratch);
      throw failed(`an export of ${program.length} bytes`, 0);
    }
    return program;
  } finally {
    f.seccomp_release([ctx]);
  }
}
