// `nsbox pod logs`, podman's verb: the output of every container of a pod,
// each line after its container's name when there are several; -c for one,
// --tail per container, -f until they exit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { importImage } from './helpers/images.js';
import { nsbox, nsboxAsync, removeAllPods } from './helpers/nsbox.js';

let root: string;

beforeAll(() => {
  root = tempRoot();
  importImage(root, 'busybox');
  expect(nsbox(root, ['pod', 'create', '--name', 'logpod']).code).toBe(0);
  expect(nsbox(root, ['run', '--pod', 'logpod', '--name', 'one', 'busybox', 'sh', '-c', 'echo a1; echo a2; echo a3 >&2']).code).toBe(0);
  expect(nsbox(root, ['run', '--pod', 'logpod', '--name', 'two', 'busybox', 'sh', '-c', 'echo b1; echo b2']).code).toBe(0);
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

describe(`pod logs (${testMode})`, () => {
  it('prints every container, each line named; stderr stays stderr', () => {
    const r = nsbox(root, ['pod', 'logs', 'logpod']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(['one a1', 'one a2', 'two b1', 'two b2']);
    expect(r.stderr).toBe('one a3\n');
  });

  it('-c picks one container (unprefixed), --tail takes the last lines of each, -f ends when they have exited', async () => {
    expect(nsbox(root, ['pod', 'logs', '-c', 'two', 'logpod']).stdout).toBe('b1\nb2\n');
    const tail = nsbox(root, ['pod', 'logs', '--tail', '1', 'logpod']);
    expect(tail.stdout).toBe('two b2\n');
    expect(tail.stderr).toBe('one a3\n'); // one's last line went to stderr
    expect(nsbox(root, ['pod', 'logs', '--tail', '2', 'logpod']).stdout.split('\n').filter(Boolean).sort()).toEqual(['one a2', 'two b1', 'two b2']);
    const f = await nsboxAsync(root, ['pod', 'logs', '-f', '-c', 'one', 'logpod']);
    expect(f.stdout).toBe('a1\na2\n');
    const missing = nsbox(root, ['pod', 'logs', '-c', 'three', 'logpod']);
    expect(missing.code).toBe(125);
    expect(missing.stderr).toMatch(/no such container: logpod\/three/);
  });
});
