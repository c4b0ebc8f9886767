// The built CLI is one bundle, so each module exists once per process: the
// image code it runs on first use shares the entry's NsboxError, reaper and
// ffi binding (two copies would make `instanceof` fail and race two SIGCHLD
// reapers). A preload records every file the real CLI requires, and an
// import hook every module it imports: a verb without images loads no image
// package, while an image verb does (the control that the log sees them).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupRoot, cliPath, repoRoot, tempRoot, testMode } from './helpers/env.js';

const bundle = join(repoRoot, 'dist', 'cli', 'nsbox-cli.cjs');
let root: string;
let preload: string;
let register: string;
beforeAll(() => {
  root = tempRoot();
  preload = join(root, 'preload.cjs');
  writeFileSync(
    preload,
    `const Module = require('node:module');
const { appendFileSync } = require('node:fs');
const load = Module._load;
Module._load = function (request, parent, isMain) {
  try {
    const file = Module._resolveFilename(request, parent, isMain);
    if (file.startsWith('/')) appendFileSync(process.env.LOADED_LOG, file + '\\n');
  } catch {}
  return load.apply(this, arguments);
};
`,
  );
  const hooks = join(root, 'hooks.mjs');
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(log, url + '\\n');
  return next(url, context);
}
`,
  );
  register = join(root, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)}, { data: { log: process.env.LOADED_LOG } });\n`);
});
afterAll(() => cleanupRoot(root));

/** Runs the CLI; returns its result and every file it loaded (required or imported). */
function runLogged(name: string, args: string[]): { code: number | null; stderr: string; files: string[] } {
  const log = join(root, `${name}.loaded`);
  writeFileSync(log, '');
  const r = spawnSync(process.execPath, ['--require', preload, '--import', register, cliPath, '--root', join(root, 'state'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, LOADED_LOG: log },
    timeout: 30_000,
  });
  const files = readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((f) => (f.startsWith('file:') ? fileURLToPath(f) : f));
  return { code: r.status, stderr: r.stderr, files: [...new Set(files)] };
}

const count = (text: string, re: RegExp) => [...text.matchAll(new RegExp(re, 'g'))].length;
const ofNsbox = (files: string[]) => files.filter((p) => p.startsWith(join(repoRoot, 'dist'))).map((p) => p.slice(repoRoot.length + 1));
const ofTar = (files: string[]) => files.filter((p) => p.includes('/node_modules/tar/'));

describe(`the bundle (${testMode})`, () => {
  it('defines NsboxError, the reaper and the ffi binding once, and requires no other file of dist/', () => {
    const text = readFileSync(bundle, 'utf8');
    expect(count(text, /\bclass NsboxError\b|\bNsboxError = class\b/)).toBe(1);
    expect(count(text, /\bclass ChildReaper\b|\bChildReaper = class\b/)).toBe(1);
    expect(count(text, /\)\(["']ffi-rs["']\)/)).toBe(1);
    expect(count(text, /\bfunction importImages\b/)).toBe(1);
    expect(text.match(/\brequire\(["']\.\.?\/[^"']*["']\)/g) ?? []).toEqual([]);
  });

  it('an image error is an NsboxError to the CLI: its hint is printed, exit 125; the image code loads tar (the control for the log)', () => {
    const r = runLogged('import', ['image', 'import', '/nonexistent']);
    // the hint after the message is printed only for an NsboxError
    expect(r.stderr).toBe('nsbox: cannot read /nonexistent: no such file or directory: give a .tar or .tar.gz rootfs, a docker save archive or an OCI image layout (directory or tar)\n');
    expect(r.code).toBe(125);
    expect(ofTar(r.files).length).toBeGreaterThan(0);
  });

  it('a verb without images loads the bin and the bundle only, and no tar', () => {
    const r = runLogged('ls', ['pod', 'ls']);
    expect(r.code, r.stderr).toBe(0);
    // The bundle is read by the bin for its code cache, or required without one.
    expect(ofNsbox(r.files).filter((f) => f !== 'dist/cli/nsbox-cli.cjs')).toEqual(['dist/cli/nsbox.cjs']);
    expect(ofTar(r.files)).toEqual([]);
  });

  it('a listing verb with its output on a pipe loads neither node:net nor node:child_process; check, which runs programs, loads both (the control)', () => {
    const builtins = join(root, 'builtins.cjs');
    writeFileSync(builtins, "process.on('exit', () => require('node:fs').writeFileSync(process.env.BUILTINS_LOG, process.moduleLoadList.join('\\n')));\n");
    const loaded = (args: string[]) => {
      const log = join(root, 'builtins.log');
      writeFileSync(log, '');
      const r = spawnSync(process.execPath, ['--require', builtins, cliPath, '--root', join(root, 'state'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BUILTINS_LOG: log }, timeout: 60_000 });
      const names = readFileSync(log, 'utf8').split('\n').filter((m) => /^NativeModule (net|child_process)$/.test(m));
      return { code: r.status, stdout: r.stdout, names };
    };
    const ps = loaded(['ps', '-a']);
    expect([ps.code, ps.stdout.startsWith('CONTAINER ID'), ps.names]).toEqual([0, true, []]);
    expect(loaded(['check']).names.sort()).toEqual(['NativeModule child_process', 'NativeModule net']);
  });
});
