// The built CLI has one copy of each module per process: the image code it
// loads on first use shares the entry's NsboxError, reaper and ffi binding
// (two copies would make `instanceof` fail and race two SIGCHLD reapers).
// A module hook records every file the real CLI loads; the test reads them,
// and the files each bundle can import.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupRoot, cliPath, repoRoot, tempRoot, testMode } from './helpers/env.js';

let root: string;
let register: string;
beforeAll(() => {
  root = tempRoot();
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
  writeFileSync(
    register,
    `import { register } from 'node:module';
register(${JSON.stringify(pathToFileURL(hooks).href)}, { data: { log: process.env.LOADED_LOG } });
`,
  );
});
afterAll(() => cleanupRoot(root));

/** Runs the CLI; returns its result and the text of every file it loaded. */
function runLogged(name: string, args: string[]): { code: number | null; stderr: string; files: Map<string, string> } {
  const log = join(root, `${name}.loaded`);
  writeFileSync(log, '');
  const r = spawnSync(process.execPath, ['--import', register, cliPath, '--root', join(root, 'state'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, LOADED_LOG: log },
    timeout: 30_000,
  });
  const files = new Map<string, string>();
  for (const url of readFileSync(log, 'utf8').split('\n').filter(Boolean)) {
    const path = fileURLToPath(url);
    files.set(path, readFileSync(path, 'utf8'));
  }
  return { code: r.status, stderr: r.stderr, files };
}

/** The loaded files whose text matches `re`, relative to the repository. */
function defining(files: Map<string, string>, re: RegExp): string[] {
  return [...files].filter(([, text]) => re.test(text)).map(([path]) => path.slice(repoRoot.length + 1));
}

const NSBOX_ERROR = /\bclass NsboxError\b|\bNsboxError = class\b/;
const REAPER = /\bclass ChildReaper\b|\bChildReaper = class\b/;
const FFI_LOAD = /\(import\.meta\.url\)\(["']ffi-rs["']\)/;
const IMAGE_IMPORT = /\bfunction importImages\b/;

describe(`the bundles (${testMode})`, () => {
  it('an image error is an NsboxError to the CLI, and the image code shares one NsboxError, reaper and ffi binding with it', () => {
    const r = runLogged('import', ['image', 'import', '/nonexistent']);
    expect(defining(r.files, IMAGE_IMPORT)).toHaveLength(1); // the lazily loaded image code ran
    expect(defining(r.files, NSBOX_ERROR)).toHaveLength(1);
    expect(defining(r.files, REAPER)).toHaveLength(1);
    expect(defining(r.files, FFI_LOAD)).toHaveLength(1);
    // the hint after the message is printed only for an NsboxError
    expect(r.stderr).toBe('nsbox: cannot read /nonexistent: no such file or directory: give a .tar or .tar.gz rootfs, a docker save archive or an OCI image layout (directory or tar)\n');
    expect(r.code).toBe(125);
  });

  it.each(['dist/cli/nsbox.mjs'])('%s and every file it can import define NsboxError, the reaper and the ffi binding once', (entry) => {
    const files = new Map<string, string>();
    const todo = [join(repoRoot, entry)];
    while (todo.length) {
      const file = todo.pop()!;
      if (files.has(file)) continue;
      files.set(file, readFileSync(file, 'utf8'));
      for (const m of files.get(file)!.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)(['"])(\.\.?\/[^'"]+)\1/g)) todo.push(join(dirname(file), m[2]!));
    }
    expect(defining(files, IMAGE_IMPORT)).toHaveLength(1);
    expect(defining(files, NSBOX_ERROR)).toHaveLength(1);
    expect(defining(files, REAPER)).toHaveLength(1);
    expect(defining(files, FFI_LOAD)).toHaveLength(1);
  });

  it('a verb without images loads two files of nsbox and no image code', () => {
    const r = runLogged('ls', ['pod', 'ls']);
    expect(r.code, r.stderr).toBe(0);
    expect([...r.files.keys()].filter((p) => p.startsWith(join(repoRoot, 'dist'))).map((p) => p.slice(repoRoot.length + 1))).toEqual(['dist/cli/nsbox.mjs', 'dist/cli/nsbox-chunk.mjs']);
    expect(defining(r.files, IMAGE_IMPORT)).toEqual([]);
    expect([...r.files.keys()].filter((p) => p.includes('/node_modules/tar/'))).toEqual([]);
  });
});
