// The bin keeps V8's code cache of the CLI bundle per verb, in a directory
// only this user can write: written once after a call that worked, reused
// (not rewritten) after, rewritten when V8 rejects it, never for a mistyped
// verb, not at all in a directory others can write (the control for the
// privacy rule) or with NSBOX_CLI_CACHE=off; files of another bundle go.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupRoot, cliPath, tempRoot, testMode } from './helpers/env.js';

let root = '';
beforeAll(() => (root = tempRoot()));
afterAll(() => cleanupRoot(root));

function cli(cache: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [cliPath, '--root', join(root, 'state'), ...args], { encoding: 'utf8', env: { ...process.env, NSBOX_CLI_CACHE: cache }, timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const files = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.v8')).sort();
const privateDir = (name: string) => {
  const dir = join(root, name);
  mkdirSync(dir, { mode: 0o700 });
  return dir;
};

describe(`the CLI's code cache (${testMode})`, () => {
  it('is written once per verb after a call that worked, then reused; a rejected one is rewritten', () => {
    const dir = privateDir('cache');
    const stale = join(dir, 'cli-0000000000000000-v0.0.0-x64-ps.v8');
    writeFileSync(stale, 'old', { mode: 0o600 });
    expect(cli(dir, 'pod', 'ls').code).toBe(0);
    const [podLs] = files(dir);
    expect(podLs).toMatch(/^cli-[0-9a-f]{16}-v\d+\.\d+\.\d+-\w+-pod-ls\.v8$/);
    expect(statSync(join(dir, podLs!)).mode & 0o777).toBe(0o600);
    expect(files(dir)).not.toContain('cli-0000000000000000-v0.0.0-x64-ps.v8'); // another bundle's: gone

    const first = statSync(join(dir, podLs!)).ino;
    const again = cli(dir, 'pod', 'ls');
    expect(again.code, again.stderr).toBe(0);
    expect(statSync(join(dir, podLs!)).ino).toBe(first); // accepted: not written again

    writeFileSync(join(dir, podLs!), Buffer.alloc(4096, 7), { mode: 0o600 });
    const broken = cli(dir, 'pod', 'ls');
    expect([broken.code, broken.stdout]).toEqual([0, again.stdout]);
    expect(statSync(join(dir, podLs!)).size).toBeGreaterThan(4096); // rejected, and replaced by a real one

    expect(cli(dir, 'pod', 'lsx').code).toBe(125);
    expect(files(dir)).toEqual([podLs]);
  });

  it('is not used in a directory others can write, nor with NSBOX_CLI_CACHE=off; the CLI works the same', () => {
    const open = privateDir('open');
    chmodSync(open, 0o777);
    const r = cli(open, 'pod', 'ls');
    expect(r.code, r.stderr).toBe(0);
    expect(files(open)).toEqual([]);
    const off = cli('off', 'pod', 'ls');
    expect([off.code, off.stdout]).toEqual([0, r.stdout]);
    const positive = privateDir('positive');
    expect(cli(positive, 'pod', 'ls').code).toBe(0);
    expect(files(positive)).toHaveLength(1);
  });
});
