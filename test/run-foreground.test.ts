// `nsbox run` without -d: a signal sent to the CLI (Ctrl-C, `kill`) goes to
// the container, and the CLI exits with the container's code: its own
// when it handles the signal, 128+N when signal N kills it.
// (`run` has no -t, so there is no window size to pass on.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBusybox } from './helpers/busybox.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { nsbox, removeAllPods, waitFor } from './helpers/nsbox.js';
import { running, settledWithin, startCli } from './helpers/processes.js';

const POD = 'fg';
let root: string;

beforeAll(async () => {
  root = tempRoot();
  await importBusybox(root);
  expect(nsbox(root, ['pod', 'create', '--name', POD]).code).toBe(0);
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

function container(name: string): { state: string; exitCode: number | null; process: { pid: number } | null } {
  const all = JSON.parse(nsbox(root, ['ps', '-a', '--format', 'json']).stdout) as { name: string; state: string; exitCode: number | null; process: { pid: number } | null }[];
  const c = all.find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name}`);
  return c;
}

/** A foreground run, once its container has printed `ready`. */
async function foreground(name: string, script: string) {
  const cli = startCli(root, ['run', '--pod', POD, '--name', name, 'busybox', 'sh', '-c', script]);
  await waitFor(() => cli.stdout().includes('ready\n'), 15_000, `${name} to be ready`);
  return { cli, pid: container(name).process!.pid };
}

describe(`foreground run and signals (${testMode})`, () => {
  it('passes SIGUSR1 and SIGTERM on to a container that traps them, and exits with the code it chose', async () => {
    const { cli, pid } = await foreground('trapper', 'trap "echo got-usr1" USR1; trap "echo got-term; exit 7" TERM; echo ready; while true; do sleep 0.05; done');
    cli.child.kill('SIGUSR1');
    await waitFor(() => cli.stdout().includes('got-usr1\n'), 10_000, 'the USR1 trap');
    // Passed on, not acted on: both are still running.
    expect(await settledWithin(cli.exited, 300)).toBe('pending');
    expect(running(pid)).toBe(true);
    cli.child.kill('SIGTERM');
    expect(await settledWithin(cli.exited, 15_000)).toBe(7);
    expect(cli.stdout()).toBe('ready\ngot-usr1\ngot-term\n');
    expect(container('trapper')).toMatchObject({ state: 'exited', exitCode: 7 });
  });

  for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]] as const) {
    it(`${signal} kills a container that does not handle it, and the CLI exits ${128 + number}`, async () => {
      const name = `plain-${signal.toLowerCase()}`;
      const { cli, pid } = await foreground(name, 'echo ready; exec sleep 600');
      cli.child.kill(signal);
      expect(await settledWithin(cli.exited, 15_000)).toBe(128 + number);
      expect(container(name)).toMatchObject({ state: 'exited', exitCode: 128 + number });
      expect(running(pid)).toBe(false);
    });
  }
});
