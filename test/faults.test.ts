// kill -9 of the supervisor or the pause: `pod ls` tells the truth and
// `pod rm -f` cleans up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { isGoneOrZombie, nsbox, podDirs, processesMentioning, waitFor, removeAllPods } from './helpers/nsbox.js';

let root: string;
beforeAll(() => {
  root = tempRoot();
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

function info(name: string): { pausePid: number; supervisorPid: number; status: string } {
  return JSON.parse(nsbox(root, ['pod', 'inspect', name]).stdout);
}

describe(`faults (${testMode})`, () => {
  it('supervisor killed with -9: the pod dies with it, ls shows it exited, rm -f cleans up', async () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'f-sup']).code).toBe(0);
    const before = info('f-sup');
    process.kill(before.supervisorPid, 'SIGKILL');
    await waitFor(() => isGoneOrZombie(before.pausePid), 5000, 'the pause to follow its supervisor');
    expect(info('f-sup').status).toBe('exited');
    const rm = nsbox(root, ['pod', 'rm', '-f', 'f-sup']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(podDirs(root)).toEqual([]);
    expect(processesMentioning(root)).toEqual([]);
  });

  it('pause killed with -9: ls shows exited, the supervisor exits, rm cleans up', async () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'f-pause']).code).toBe(0);
    const before = info('f-pause');
    process.kill(before.pausePid, 'SIGKILL');
    await waitFor(() => isGoneOrZombie(before.supervisorPid), 5000, 'the supervisor to exit');
    expect(info('f-pause').status).toBe('exited');
    expect(nsbox(root, ['pod', 'rm', 'f-pause']).code).toBe(0);
    expect(podDirs(root)).toEqual([]);
  });

  it('stopping a pod ends every process in it, including long-running execs', async () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'f-stop']).code).toBe(0);
    const sleeper = nsbox(root, ['exec', 'f-stop', '--', 'sh', '-c', 'sleep 1000 >/dev/null 2>&1 & echo $!']);
    expect(sleeper.code).toBe(0);
    const procs = nsbox(root, ['exec', 'f-stop', '--', 'ps', '-eo', 'pid=,args=']).stdout;
    expect(procs).toMatch(/sleep 1000/);
    expect(nsbox(root, ['pod', 'rm', '-f', 'f-stop']).code).toBe(0);
    await waitFor(() => processesMentioning('sleep 1000').length === 0, 5000, 'sleep to be killed');
    expect(podDirs(root)).toEqual([]);
  });
});
