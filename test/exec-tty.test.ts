// `exec -t` on a real terminal: the command's terminal (made inside the pod)
// starts with the caller's window size and follows it when the user resizes
// the window; Ctrl-C typed by the user reaches the command, not nsbox.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupRoot, cliPath, tempRoot, testMode } from './helpers/env.js';
import { nsbox, removeAllPods } from './helpers/nsbox.js';
import { onTerminal, shq } from './helpers/pty.js';

let root: string;
const cli = (...args: string[]) => [process.execPath, cliPath, '--root', root, ...args].map(shq).join(' ');

beforeAll(() => {
  root = tempRoot();
  expect(nsbox(root, ['pod', 'create', '--name', 'tty']).code).toBe(0);
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

describe(`exec -t on a terminal (${testMode})`, () => {
  it("starts with the caller's window size and follows a resize", () => {
    const inner = 'stty size; echo "first-done"; read x; stty size; echo "second-done"';
    const r = onTerminal(cli('exec', '-it', 'tty', '--', 'sh', '-c', inner), [{ when: 'first-done', resize: [41, 123] }], { size: [30, 100] });
    expect(r.output, r.output).toMatch(/30 100\nfirst-done/);
    expect(r.output, r.output).toMatch(/41 123\n<?second-done/);
    expect(r.code).toBe(0);
  });

  it('passes Ctrl-C to the command as its terminal sends it, and exits with its code', () => {
    const inner = 'trap "echo got-sigint; exit 42" INT; echo "armed"; while :; do sleep 0.1; done';
    const r = onTerminal(cli('exec', '-it', 'tty', '--', 'sh', '-c', inner) + '; echo "cli-rc=$?"', [{ when: 'armed', type: '\x03' }], { size: [24, 80] });
    expect(r.output, r.output).toContain('got-sigint');
    expect(r.output, r.output).toContain('cli-rc=42');
  });
});
