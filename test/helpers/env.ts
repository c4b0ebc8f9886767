// Test environment: which mode the suite runs in (scripts/test.mjs runs it
// rootless as an unprivileged user and again as root), a private state root
// per test file, and the path of the built CLI.
import { mkdtempSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export type TestMode = 'root' | 'rootless';

function detectMode(): TestMode {
  const declared = process.env.NSBOX_TEST_MODE;
  if (declared === 'root' || declared === 'rootless') return declared;
  if (declared) throw new Error(`NSBOX_TEST_MODE must be "root" or "rootless", not ${JSON.stringify(declared)}`);
  return process.getuid?.() === 0 ? 'root' : 'rootless';
}

/** 'rootless' when NSBOX_TEST_MODE says so or we are not uid 0; 'root' otherwise. */
export const testMode: TestMode = detectMode();

/** The repository root: two directories up from test/helpers. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Absolute path of the built CLI (run `npm run build` first). */
export const cliPath = join(repoRoot, 'dist', 'cli', 'nsbox.cjs');

const PREFIX = 'nsbox-test-';
// `npm test` names its run, so that afterwards it can end whatever a killed
// test file left running in its roots, and only in its own.
const RUN_PREFIX = PREFIX + (process.env.NSBOX_TEST_RUN_ID ? `${process.env.NSBOX_TEST_RUN_ID}-` : '');

/**
 * A fresh private state directory for one test file, for nsbox's
 * --root / NSBOX_ROOT override. Owned by the test process, mode 0700.
 */
export function tempRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), RUN_PREFIX));
  chmodSync(dir, 0o700);
  return dir;
}

/** Removes a directory made by tempRoot(); refuses anything else. */
export function cleanupRoot(dir: string | undefined): void {
  if (!dir) return;
  const abs = resolve(dir);
  if (!(abs.startsWith(resolve(tmpdir()) + sep) && abs.slice(abs.lastIndexOf(sep) + 1).startsWith(PREFIX))) {
    throw new Error(`cleanupRoot: ${dir} was not made by tempRoot()`);
  }
  rmSync(abs, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
}
