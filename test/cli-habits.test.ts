// The command line's habits from podman: global flags after the verb as
// well as before it, and `help VERB...` for any verb, nested ones too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { nsbox } from './helpers/nsbox.js';
import { spawnSync } from 'node:child_process';
import { cliPath } from './helpers/env.js';

let root: string;
beforeAll(() => {
  root = tempRoot();
});
afterAll(() => cleanupRoot(root));

/** The CLI with exactly these arguments (no --root added in front). */
const raw = (...args: string[]) => spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', timeout: 30_000 });

describe(`command-line habits (${testMode})`, () => {
  it('takes --root after the verb as before it', () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'habit']).code).toBe(0);
    try {
      const before = raw('--root', root, 'pod', 'ls', '-q');
      const after = raw('pod', 'ls', '-q', '--root', root);
      expect(before.status).toBe(0);
      expect(after.status, after.stderr).toBe(0);
      expect(after.stdout).toBe(before.stdout);
      expect(after.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
      // And a command's own arguments are left alone: --root after the image belongs to it.
      const echoed = raw('exec', '--root', root, 'habit', '--', 'echo', '--root', 'x');
      expect([echoed.status, echoed.stdout]).toEqual([0, '--root x\n']);
    } finally {
      expect(nsbox(root, ['pod', 'rm', '-f', 'habit']).code).toBe(0);
    }
  });

  it('answers exists with 0 or 1 (podman\'s), and restarts a container', () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'here']).code).toBe(0);
    try {
      expect(nsbox(root, ['pod', 'exists', 'here']).code).toBe(0);
      expect(nsbox(root, ['pod', 'exists', 'not-here']).code).toBe(1);
      expect(nsbox(root, ['exists', 'here/nobody']).code).toBe(1);
    } finally {
      expect(nsbox(root, ['pod', 'rm', '-f', 'here']).code).toBe(0);
    }
  });

  it("takes --debug as nsbox's own only where it is: not from a command's arguments", () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'dbg']).code).toBe(0);
    try {
      const quiet = raw('--root', root, 'exec', 'dbg', '--', 'echo', '--debug');
      expect([quiet.status, quiet.stdout, quiet.stderr]).toEqual([0, '--debug\n', '']);
      // The control: nsbox's own --debug prints the plans.
      const loud = raw('--root', root, '--debug', 'exec', 'dbg', '--', 'true');
      expect(loud.status).toBe(0);
      expect(loud.stderr).toMatch(/nsbox: plan/);
    } finally {
      expect(nsbox(root, ['pod', 'rm', '-f', 'dbg']).code).toBe(0);
    }
  });

  it('shows the help of a nested verb with help VERB...', () => {
    const r = raw('help', 'pod', 'create');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: nsbox pod create/);
    // The control: help of the group alone is the group's.
    expect(raw('help', 'pod').stdout).toMatch(/^Usage: nsbox pod \[options\] \[command\]/);
  });
});
