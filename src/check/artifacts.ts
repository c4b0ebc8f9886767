// `nsbox check` of the installed native artifacts: each one exists and runs
// (the shim library loads and answers a call; the programs start and say
// what they are). A missing one gets the rebuild that fits where nsbox is:
// `npm rebuild nsbox` in a project that installed it, `npm run build` in a
// checkout.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { artifacts, nativeBuildFix } from '../native/artifacts.js';
import { loadFlockAddon } from '../native/flock-addon.js';
import { LOCK_EX, LOCK_NB } from '../native/ffi.js';
import { Errno } from '../core/errno.js';
import { oneLine, type CheckResult } from './probes.js';

export interface ArtifactPaths {
  shimLibrary: string;
  pause: string;
  forwarder: string;
  keeper: string;
  execHelper: string;
  flockAddon: string;
  probe: string;
}

export const installedArtifacts: ArtifactPaths = {
  shimLibrary: artifacts.shimLibrary,
  pause: artifacts.pause,
  forwarder: artifacts.forwarder,
  keeper: artifacts.keeper,
  execHelper: artifacts.execHelper,
  flockAddon: artifacts.flockAddon,
  probe: artifacts.probe,
};

/** Loads the shim through nsbox's own bindings and makes one call; throws what went wrong. */
export async function loadInstalledShim(): Promise<void> {
  const { closeFd, pidfdOpen } = await import('../native/ffi.js');
  const fd = pidfdOpen(process.pid);
  if (fd < 0) {
    const { errnoName } = await import('../core/errno.js');
    throw new Error(`pidfd_open failed (${errnoName(-fd)}): nsbox needs Linux >= 5.8`);
  }
  closeFd(fd);
}

function missing(base: { id: string; title: string }, path: string, status: 'fail' | 'warn' = 'fail', impact = ''): CheckResult {
  return { ...base, status, detail: `${path} is missing${impact}`, fix: nativeBuildFix() };
}

export async function checkShim(path: string, load: () => Promise<void>): Promise<CheckResult> {
  const base = { id: 'shim', title: 'native shim' };
  if (!existsSync(path)) return missing(base, path);
  try {
    await load();
  } catch (err) {
    const why = oneLine(err instanceof Error ? err.message : String(err));
    // The addon that loads it is a prebuilt optional dependency of ffi-rs, which --omit=optional leaves out.
    if (/ffi-rs/.test(why))
      return { ...base, status: 'fail', detail: `the FFI addon that loads it does not load (${why})`, fix: 'install with optional dependencies (ffi-rs ships its prebuilt addon as one): npm install, without --omit=optional' };
    return { ...base, status: 'fail', detail: `${path} does not load (${why})`, fix: `rebuild it: ${nativeBuildFix({ missing: false })}` };
  }
  return { ...base, status: 'ok', detail: `${path} loads (pidfd_open answered)` };
}

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
  error?: string;
}

function runProgram(path: string, args: string[]): Ran {
  const r = spawnSync(path, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] });
  const error = r.error ? ((r.error as NodeJS.ErrnoException).code ?? r.error.message) : undefined;
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ...(error ? { error } : {}) };
}

/** A program exists, starts, and answers `args` as `expect` judges its output. */
function checkProgram(
  base: { id: string; title: string },
  path: string,
  args: string[],
  expect: (r: Ran) => { ok: string } | { wrong: string },
  ifMissing: 'fail' | 'warn' = 'fail',
  impact = '',
): CheckResult {
  if (!existsSync(path)) return missing(base, path, ifMissing, impact);
  const r = runProgram(path, args);
  const shown = `\`${[path, ...args].join(' ')}\``;
  if (r.error) return { ...base, status: ifMissing, detail: `${shown} does not run (${r.error})${impact}`, fix: `rebuild it: ${nativeBuildFix({ missing: false })}` };
  const verdict = expect(r);
  if ('wrong' in verdict) return { ...base, status: ifMissing, detail: `${shown} ${verdict.wrong}${impact}`, fix: `rebuild it: ${nativeBuildFix({ missing: false })}` };
  return { ...base, status: 'ok', detail: `${path} ${verdict.ok}` };
}

const said = (r: Ran) => oneLine(r.stdout + r.stderr) || 'nothing';

export function checkPause(path: string): CheckResult {
  return checkProgram({ id: 'pause', title: 'pause' }, path, ['-v'], (r) => {
    const version = /^nsbox-pause (\S+)\n?$/.exec(r.stdout)?.[1];
    if (r.status === 0 && version) return { ok: `runs (version ${version})` };
    return { wrong: `exited with ${r.status} and printed ${said(r)}, not its version` };
  });
}

export function checkForwarder(path: string): CheckResult {
  // Without port specs it prints its usage and exits 2: proof that it starts.
  return checkProgram({ id: 'forwarder', title: 'port forwarder' }, path, [], (r) => {
    if (r.status === 2 && r.stderr.startsWith('usage: nsbox-forward')) return { ok: 'runs' };
    return { wrong: `exited with ${r.status} and printed ${said(r)}, not its usage` };
  });
}

export function checkKeeper(path: string): CheckResult {
  // Without arguments it prints its usage and exits 2: proof that it starts.
  return checkProgram({ id: 'keeper', title: 'pod keeper' }, path, [], (r) => {
    if (r.status === 2 && r.stderr.startsWith('usage: nsbox-keeper')) return { ok: 'runs' };
    return { wrong: `exited with ${r.status} and printed ${said(r)}, not its usage` };
  });
}

export function checkExecHelper(path: string): CheckResult {
  // Without its control socket it prints its usage and exits 2: proof that it starts.
  return checkProgram({ id: 'exec-helper', title: "the CLI's exec helper" }, path, [], (r) => {
    if (r.status === 2 && r.stderr.startsWith('usage: nsbox-exec')) return { ok: 'runs' };
    return { wrong: `exited with ${r.status} and printed ${said(r)}, not its usage` };
  });
}

export function checkFlockAddon(path: string): CheckResult {
  // Without it the state lock goes through ffi-rs: slower, not broken.
  const base = { id: 'flock-addon', title: 'state lock addon' };
  const impact = ' (the state lock then loads ffi-rs, ~4 ms more per call)';
  if (!existsSync(path)) return missing(base, path, 'warn', impact);
  try {
    const rc = loadFlockAddon(path).flock(-1, LOCK_EX | LOCK_NB); // no fd: EBADF
    if (rc === -Errno.EBADF) return { ...base, status: 'ok', detail: `${path} loads (flock answered EBADF)` };
    return { ...base, status: 'warn', detail: `${path} loads but answered ${String(rc)}, not -EBADF${impact}`, fix: `rebuild it: ${nativeBuildFix({ missing: false })}` };
  } catch (err) {
    return { ...base, status: 'warn', detail: `${path} does not load (${oneLine(err instanceof Error ? err.message : String(err))})${impact}`, fix: `rebuild it: ${nativeBuildFix({ missing: false })}` };
  }
}

export function checkProbe(path: string): CheckResult {
  // Only the test suite runs it: pods work without it.
  return checkProgram(
    { id: 'probe', title: 'test probe' },
    path,
    ['exit', '7'],
    (r) => (r.status === 7 ? { ok: 'runs' } : { wrong: `exited with ${r.status} (not 7) and printed ${said(r)}` }),
    'warn',
    ' (only the test suite needs it)',
  );
}

export async function checkArtifacts(paths: ArtifactPaths = installedArtifacts, loadShim = loadInstalledShim): Promise<CheckResult[]> {
  return [await checkShim(paths.shimLibrary, loadShim), checkPause(paths.pause), checkForwarder(paths.forwarder), checkKeeper(paths.keeper), checkExecHelper(paths.execHelper), checkFlockAddon(paths.flockAddon), checkProbe(paths.probe)];
}
