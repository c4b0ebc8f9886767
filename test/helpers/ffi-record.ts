// Whether a CLI call loads the FFI addon: a preload notes every require of
// ffi-rs in a log of the call's own.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliPath } from './env.js';

export interface FfiRecordedRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ffi: boolean;
}

/** A runner of the CLI under `root` that reports whether each call required ffi-rs (its files go in `root`). */
export function ffiRecorder(root: string): (args: string[]) => FfiRecordedRun {
  const preload = join(root, 'ffi-preload.cjs');
  writeFileSync(
    preload,
    `const Module = require('node:module');
const load = Module._load;
Module._load = function (request) {
  if (request === 'ffi-rs') require('node:fs').appendFileSync(process.env.FFI_LOG, 'ffi-rs\\n');
  return load.apply(this, arguments);
};
`,
  );
  return (args) => {
    const log = join(root, `ffi-${Math.random().toString(16).slice(2)}.log`);
    writeFileSync(log, '');
    const r = spawnSync(process.execPath, ['--require', preload, cliPath, '--root', root, ...args], { encoding: 'utf8', env: { ...process.env, FFI_LOG: log }, timeout: 30_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, ffi: readFileSync(log, 'utf8').includes('ffi-rs') };
  };
}
