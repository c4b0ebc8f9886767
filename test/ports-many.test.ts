// A pod that publishes many ports: a 1000-port range is bound, served and
// released like one port (the shim passes up to 4096 listeners on).
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { importImage } from './helpers/images.js';
import { leftoverProcesses, watchPublishingPod } from './helpers/leftovers.js';
import { portRefused } from './helpers/net.js';
import { nsbox } from './helpers/nsbox.js';

let root: string;
const COUNT = 1000;

beforeAll(() => {
  root = tempRoot();
  importImage(root, 'busybox');
});
afterAll(() => cleanupRoot(root));

function ask(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    let got = '';
    s.on('data', (d) => (got += d));
    s.on('end', () => resolve(got));
    s.on('error', () => resolve(''));
    s.setTimeout(3000, () => (s.destroy(), resolve(got)));
  });
}

describe(`many published ports (${testMode})`, () => {
  it(`a ${COUNT}-port range: bound at create, listed, served, and released by rm -f`, async () => {
    let base = 0;
    for (let attempt = 0; attempt < 8 && !base; attempt++) {
      const candidate = 20000 + Math.floor(Math.random() * 40) * COUNT;
      const r = nsbox(root, ['pod', 'create', '--name', 'many', '-p', `127.0.0.1:${candidate}-${candidate + COUNT - 1}:${candidate}-${candidate + COUNT - 1}`]);
      if (r.code === 0) base = candidate;
      else expect(r.stderr).toMatch(/address already in use/); // some port of the range is taken: another block
    }
    expect(base, 'a free block of ports').toBeGreaterThan(0);
    const watch = await watchPublishingPod(root, 'many');
    const listed = nsbox(root, ['port', 'many']).stdout.trim().split('\n');
    expect(listed).toHaveLength(COUNT);
    // Served through the last port and one in the middle: a listener in the pod answers each.
    for (const port of [base + COUNT - 1, base + 500]) {
      expect(nsbox(root, ['run', '-d', '--pod', 'many', '--name', `srv-${port}`, 'busybox', 'nc', '-ll', '-p', String(port), '-e', 'echo', `hi-${port}`]).code).toBe(0);
      let answer = '';
      for (let i = 0; i < 50 && !answer.includes(`hi-${port}`); i++) answer = await ask(port);
      expect(answer).toContain(`hi-${port}`);
    }
    expect(nsbox(root, ['pod', 'rm', '-f', 'many']).code).toBe(0);
    expect(await portRefused(base)).toBe(true);
    expect(await portRefused(base + COUNT - 1)).toBe(true);
    expect(await leftoverProcesses(root, [watch])).toEqual([]);
  });
});
