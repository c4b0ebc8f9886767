// Holds a pod's supervisor at its start until the test lets it go (see
// supervisor-gate.cjs), so a test can change the world at a known point of
// `pod create`: after nsbox's own checks, before the supervisor acts.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './nsbox.js';

const hook = fileURLToPath(new URL('./supervisor-gate.cjs', import.meta.url));

export interface SupervisorGate {
  /** The environment for the CLI call whose supervisor is held. */
  env: NodeJS.ProcessEnv;
  /** Resolves with the held supervisor's pid. */
  started(timeoutMs?: number): Promise<number>;
  release(): void;
  remove(): void;
}

export function supervisorGate(scratch: string): SupervisorGate {
  const dir = mkdtempSync(join(scratch, 'gate-'));
  const startedFile = join(dir, 'started');
  const options = [process.env.NODE_OPTIONS, `--require ${hook}`].filter(Boolean).join(' ');
  return {
    env: { ...process.env, NODE_OPTIONS: options, NSBOX_TEST_GATE: dir },
    async started(timeoutMs = 15_000) {
      await waitFor(() => existsSync(startedFile) && readFileSync(startedFile, 'utf8') !== '', timeoutMs, 'the supervisor to start');
      return Number(readFileSync(startedFile, 'utf8'));
    },
    release: () => writeFileSync(join(dir, 'go'), ''),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
