// The TypeScript plan encoder and the shim's C parser agree: the op codes and
// header constants against plan.h itself, and whole real plans (pause,
// exec, container, forwarder, keeper start) decoded by the shim's own
// parser (native-shims/shim/plan.c, compiled here with a small dumper)
// into exactly the numbers and strings TypeScript meant.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHILD_PID, encodePlan, PLAN_FORMAT, PLAN_OPS, stepFields, type AnyStep, type SpawnPlan } from '../dist/native/plan.js';
import { execPlan, pausePlan } from '../dist/pod/plans.js';
import { containerPlan } from '../dist/container/plans.js';
import { forwarderPlan } from '../dist/net/start-forwarder.js';
import { RESULT_SIZE } from '../dist/native/ffi.js';
import { repoRoot } from './helpers/env.js';

const planH = readFileSync(join(repoRoot, 'native-shims', 'shim', 'plan.h'), 'utf8');

/** `OP_NAME = N` entries of enum nsbox_op, as the C compiler sees them. */
function cOps(): Map<string, number> {
  const body = /enum nsbox_op \{([\s\S]*?)\};/.exec(planH)![1]!.replace(/\/\*[\s\S]*?\*\//g, '');
  return new Map([...body.matchAll(/(OP_\w+)\s*=\s*(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
}

let dir: string;
let dumper: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nsbox-plan-abi-'));
  dumper = join(dir, 'plan-dump');
  const shim = join(repoRoot, 'native-shims', 'shim');
  execFileSync('cc', ['-std=gnu11', '-O0', '-Wall', '-o', dumper, join(repoRoot, 'test', 'fixtures', 'plan-dump.c'), join(shim, 'plan.c')], { stdio: 'pipe' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Decoded {
  rc: number;
  headerSize: number;
  stepHeaderSize: number;
  cloneFlags: string;
  flags: number;
  sections: { op: number; args: string[]; strings: string[]; argv?: string[]; keep?: number[] }[][];
}

function decode(bytes: Buffer): Decoded {
  const r = spawnSync(dumper, [], { input: bytes, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Decoded;
}

/** What the shim must see for a step: its code, four numbers, its strings. */
function expected(s: AnyStep) {
  const { args, strings } = stepFields(s);
  return { op: PLAN_OPS[s.op].code, args: [0, 1, 2, 3].map((i) => BigInt.asIntN(64, args[i] ?? 0n).toString()), strings };
}

function expectAgreement(plan: SpawnPlan): Decoded {
  const d = decode(encodePlan(plan));
  expect(d.rc).toBe(0);
  expect(d.cloneFlags).toBe(String(plan.cloneFlags));
  expect(d.flags).toBe(plan.finalIsMiddlesChild ? 1 : 0);
  const sections = [plan.middle, plan.after, plan.child] as AnyStep[][];
  sections.forEach((steps, i) => expect(d.sections[i]!.map(({ op, args, strings }) => ({ op, args, strings }))).toEqual(steps.map(expected)));
  return d;
}

const full = { kind: 'full' as const, uid: 1000, gid: 1000, subuid: { start: 100000, count: 65536 }, subgid: { start: 100000, count: 65536 }, newuidmap: '/usr/bin/newuidmap', newgidmap: '/usr/bin/newgidmap' };

describe('the plan ABI', () => {
  it('has the op codes, magic and version of plan.h, and every op of plan.h', () => {
    const c = cOps();
    for (const [name, { code, c: cName }] of Object.entries(PLAN_OPS)) expect([name, c.get(cName)]).toEqual([name, code]);
    expect([...c.keys()].sort()).toEqual(Object.values(PLAN_OPS).map((o) => o.c).sort());
    expect(Number(/#define NSBOX_PLAN_MAGIC (0x[0-9a-f]+)u/.exec(planH)![1])).toBe(PLAN_FORMAT.magic);
    expect(Number(/#define NSBOX_PLAN_VERSION (\d+)u/.exec(planH)![1])).toBe(PLAN_FORMAT.version);
  });

  it('reads a result buffer as large as struct nsbox_result (the shim writes all of it)', () => {
    const body = /struct nsbox_result \{([\s\S]*?)\};/.exec(planH)![1]!.replace(/\/\*[\s\S]*?\*\//g, '');
    const fields = [...body.matchAll(/\bint32_t\s+\w+;/g)].length;
    expect(body.replace(/\bint32_t\s+\w+;/g, '').trim()).toBe('');
    expect(fields * 4).toBe(RESULT_SIZE);
  });

  it('has the header sizes the C structs have', () => {
    const d = decode(encodePlan({ cloneFlags: 0, middle: [], after: [], child: [] }));
    expect([d.rc, d.headerSize, d.stepHeaderSize]).toEqual([0, PLAN_FORMAT.planHeader, PLAN_FORMAT.stepHeader]);
  });

  it('decodes the pause plan with a keeper as TypeScript built it (exec_middle argv, kept fds, the pid placeholder)', () => {
    const plan = pausePlan({ hostname: 'web', mapping: full, pauseFd: 21, readyFd: 17, supervisor: { file: '/k', argv: ['/k', '/pods/x', '2', CHILD_PID], env: [], keepFds: [30, 31, 32] } });
    const d = expectAgreement(plan);
    const execMiddle = d.sections[1]!.find((s) => s.op === PLAN_OPS.execMiddle.code)!;
    expect(execMiddle.argv).toEqual(['/k', '/pods/x', '2', CHILD_PID]);
    expect(execMiddle.keep).toEqual([30, 31, 32]);
  });

  it('decodes exec, container and forwarder plans, with every string intact (UTF-8, spaces, empty)', () => {
    const hostView = { dirs: ['/usr', '/etc'], links: [{ path: '/bin', target: 'usr/bin' }] };
    expectAgreement(execPlan({ pausePidfd: 9, argv: ['sh', '-c', 'echo "é 😀"', ''], env: ['A=b c', 'EMPTY='], cwd: '/srv', stdio: { fds: [-1, 1, 2] }, hostView, lockedView: true, execFd: 12 }));
    expectAgreement(
      containerPlan({
        pausePidfd: 7,
        mountPoint: '/state/c/rootfs',
        rootfs: { kind: 'overlay', lowerDirs: ['/l1', '/l2'], upperDir: '/u', workDir: '/w' },
        etcFiles: { hosts: '/h', resolvConf: '/r', hostname: '/n' },
        readOnly: true,
        argv: ['nginx', '-g', 'daemon off;'],
        env: ['PATH=/usr/bin'],
        workdir: '/app',
        user: { uid: 4294967294, gid: 33 },
        canSetGroups: true,
        oldRootSuffix: 'abcd',
        stdio: [-1, 8, 9],
        namespaceSocket: 10,
        masks: { masked: [{ path: '/proc/kcore', dir: false }], readOnly: ['/proc/sys'] },
        capabilities: ['CHOWN', 'NET_BIND_SERVICE'],
        privatePid: true,
      }),
    );
    expectAgreement(forwarderPlan(7, [{ fd: 4, mapping: { hostIp: '127.0.0.1', hostPort: 8080, podPort: 80, protocol: 'tcp' } }]));
  });

  it('carries a seccomp program byte for byte, and the shim refuses one longer than its step', () => {
    const program = Buffer.from([...Array(24).keys()].map((i) => (i * 37) & 0xff));
    const plan: SpawnPlan = { cloneFlags: 0, middle: [], after: [], child: [{ op: 'noNewPrivs' }, { op: 'seccomp', program }, { op: 'exec', file: 'true', argv: ['true'], env: [], path: '/bin' }] };
    const d = expectAgreement(plan);
    const step = d.sections[2]!.find((s) => s.op === PLAN_OPS.seccomp.code) as { args: string[]; program?: string };
    expect([step.args[0], step.program]).toEqual(['3', program.toString('hex')]);
    const bytes = encodePlan(plan);
    const at = bytes.indexOf(program);
    bytes.writeBigInt64LE(4n, at - PLAN_FORMAT.stepHeader + 8); // claims a fourth instruction past the step
    expect(decode(bytes).rc).toBeLessThan(0);
  });

  it('is refused by the shim when the version or a step size is wrong (the control: the parser checks what it reads)', () => {
    const good = encodePlan({ cloneFlags: 0, middle: [], after: [], child: [{ op: 'setsid' }] });
    expect(decode(good).rc).toBe(0);
    const badVersion = Buffer.from(good);
    badVersion.writeUInt32LE(PLAN_FORMAT.version + 1, 4);
    expect(decode(badVersion).rc).toBeLessThan(0);
    const badSize = Buffer.from(good);
    badSize.writeUInt32LE(PLAN_FORMAT.stepHeader + 3, PLAN_FORMAT.planHeader + 4);
    expect(decode(badSize).rc).toBeLessThan(0);
  });
});
