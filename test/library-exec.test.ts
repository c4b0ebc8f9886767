// The library's exec for test suites: binary output comes back as bytes
// (the strings are UTF-8 decoded, which binary output does not survive),
// and a timeout kills a command that runs too long and says so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPod, type Pod } from '../dist/index.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';

let root: string;
let pod: Pod;

beforeAll(async () => {
  root = tempRoot();
  pod = await createPod({ root, name: 'lib-exec' });
});
afterAll(async () => {
  await pod?.remove({ force: true });
  cleanupRoot(root);
});

describe(`library exec (${testMode})`, () => {
  it('returns binary output as bytes; the decoded string is what loses it (the control)', async () => {
    const r = await pod.exec(['sh', '-c', "printf '\\377\\000\\001'; printf '\\376' >&2"]);
    expect(r.exitCode).toBe(0);
    expect([...r.stdoutBytes]).toEqual([0xff, 0x00, 0x01]);
    expect([...r.stderrBytes]).toEqual([0xfe]);
    expect(Buffer.from(r.stdout)).not.toEqual(r.stdoutBytes);
  });

  it('kills a command past its timeout and says so; one within it is left alone', async () => {
    const slow = await pod.exec(['sleep', '30'], { timeoutMs: 200 });
    expect(slow).toMatchObject({ timedOut: true, signal: 9, exitCode: 137 });
    const quick = await pod.exec(['sh', '-c', 'echo done'], { timeoutMs: 10_000 });
    expect(quick).toMatchObject({ timedOut: false, exitCode: 0, stdout: 'done\n' });
  });
});
