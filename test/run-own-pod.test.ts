// `run` as docker users type it: without --pod the container gets a pod of
// its own (named after it, publishing run's -p, removed with it) and is
// called by its name alone; --rm removes it once it has exited, in the
// foreground and detached, with its own pod, leaving nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testMode } from './helpers/env.js';
import { setUpPodRoot, tearDownPodRoot } from './helpers/pod-root.js';
import { freePort, portRefused } from './helpers/net.js';
import { nsbox, podDirs, waitFor } from './helpers/nsbox.js';
import { leftoverProcesses } from './helpers/leftovers.js';

let root: string;

beforeAll(() => {
  root = setUpPodRoot();
});
afterAll(() => tearDownPodRoot(root));

const pods = () => (JSON.parse(nsbox(root, ['pod', 'ls', '--format', 'json']).stdout) as { name: string }[]).map((p) => p.name);
const containers = () => JSON.parse(nsbox(root, ['ps', '-a', '--format', 'json']).stdout) as { name: string; podName: string; state: string }[];

async function get(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/hello.txt`);
  return `${res.status} ${await res.text()}`;
}

describe(`run without --pod, and --rm (${testMode})`, () => {
  it('makes a pod of its own that publishes run\'s -p; the container goes by its name; rm takes the pod too', async () => {
    const port = await freePort();
    const r = nsbox(root, ['run', '-d', '--name', 'web', '-p', `127.0.0.1:${port}:80`, 'busybox', 'httpd', '-f', '-p', '80', '-h', '/srv']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('web\n');
    expect(pods()).toEqual(['web']);
    expect(nsbox(root, ['ps', '-q']).stdout).toBe('web\n'); // by its name alone, as the verbs take it
    let answer = '';
    for (let i = 0; i < 200 && !answer.startsWith('200'); i++) {
      answer = await get(port).catch(() => '');
      if (!answer) await new Promise((res) => setTimeout(res, 25));
    }
    expect(answer).toBe('200 hello from the image\n');
    expect(nsbox(root, ['logs', 'web']).code).toBe(0);
    expect(nsbox(root, ['exec', '--join', 'web', 'web', '--', 'true']).code).toBe(0);
    expect(nsbox(root, ['stop', '-t', '0', 'web']).code).toBe(0);
    expect(containers()).toMatchObject([{ name: 'web', podName: 'web', state: 'exited' }]);
    expect(nsbox(root, ['rm', 'web']).code).toBe(0);
    expect(pods()).toEqual([]);
    expect(await portRefused(port)).toBe(true);
    expect(podDirs(root)).toEqual([]);
    // The control: a bare name that is nobody is a one-line "no such container".
    const none = nsbox(root, ['logs', 'web']);
    expect([none.code, none.stderr.trim().split('\n').length]).toEqual([125, 1]);
    expect(none.stderr).toMatch(/no such container: web/);
  });

  it('--rm in the foreground: the output, the exit code, and nothing left, for a success and a failure', async () => {
    const ok = nsbox(root, ['run', '--rm', '--name', 'once', 'busybox', 'echo', 'hi']);
    expect([ok.code, ok.stdout]).toEqual([0, 'hi\n']);
    const failed = nsbox(root, ['run', '--rm', '--name', 'fails', 'busybox', 'sh', '-c', 'echo bye >&2; exit 3']);
    expect([failed.code, failed.stderr]).toEqual([3, 'bye\n']);
    const missing = nsbox(root, ['run', '--rm', '--name', 'nocmd', 'busybox', 'no-such-command']);
    expect(missing.code).toBe(127);
    expect([pods(), containers(), podDirs(root)]).toEqual([[], [], []]);
    expect(await leftoverProcesses(root)).toEqual([]);
  });

  it('--rm detached: once it exits, its keeper removes it and its own pod; in a given pod, only the container', async () => {
    expect(nsbox(root, ['run', '-d', '--rm', '--name', 'brief', 'busybox', 'sleep', '2']).code).toBe(0);
    expect(pods()).toEqual(['brief']); // the control: it was there
    await waitFor(() => pods().length === 0, 15_000, 'the exited --rm container and its pod to go');
    expect([containers(), podDirs(root)]).toEqual([[], []]);
    // In a pod of the user's: --rm before --pod is understood (commander once stopped at it), the pod stays.
    expect(nsbox(root, ['pod', 'create', '--name', 'keep']).code).toBe(0);
    expect(nsbox(root, ['run', '-d', '--rm', '--pod', 'keep', '--name', 'brief', 'busybox', 'sleep', '2']).code).toBe(0);
    expect(containers()).toMatchObject([{ name: 'brief', podName: 'keep' }]);
    await waitFor(() => containers().length === 0, 15_000, 'the exited --rm container to go');
    expect(pods()).toEqual(['keep']);
    expect(nsbox(root, ['pod', 'rm', '-f', 'keep']).code).toBe(0);
  });

  it('restart stops and starts it again (its log shows both runs); exists says 0 for it and 1 once it is gone', async () => {
    expect(nsbox(root, ['run', '-d', '--name', 'again', 'busybox', 'sh', '-c', 'echo started; exec sleep 600']).code).toBe(0);
    await waitFor(() => nsbox(root, ['logs', 'again']).stdout === 'started\n', 10_000, 'the first run');
    expect(nsbox(root, ['exists', 'again']).code).toBe(0);
    const r = nsbox(root, ['restart', '-t', '0', 'again']);
    expect([r.code, r.stdout]).toEqual([0, 'again\n']);
    await waitFor(() => nsbox(root, ['logs', 'again']).stdout === 'started\nstarted\n', 10_000, 'the second run');
    expect(containers()).toMatchObject([{ name: 'again', state: 'running' }]);
    expect(nsbox(root, ['rm', '-f', 'again']).code).toBe(0);
    expect(nsbox(root, ['exists', 'again']).code).toBe(1);
  });

  it('--replace removes the container of that name first (and its own pod); without it the name is refused', async () => {
    expect(nsbox(root, ['run', '-d', '--name', 'svc', '--label', 'gen=1', 'busybox', 'sleep', '600']).code).toBe(0);
    const again = nsbox(root, ['run', '-d', '--name', 'svc', 'busybox', 'sleep', '600']);
    expect(again.code).toBe(125); // the control: the name is taken
    const replaced = nsbox(root, ['run', '-d', '--replace', '--name', 'svc', '--label', 'gen=2', 'busybox', 'sleep', '600']);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(JSON.parse(nsbox(root, ['inspect', 'svc']).stdout)[0].Config.Labels).toEqual({ gen: '2' });
    expect(pods()).toEqual(['svc']);
    expect(nsbox(root, ['rm', '-f', 'svc']).code).toBe(0);
  });

  it('refuses -p with --pod, and a name its own pod cannot take, in one line, leaving nothing', () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'taken']).code).toBe(0);
    const withPod = nsbox(root, ['run', '--pod', 'taken', '-p', '8080:80', 'busybox', 'true']);
    expect(withPod.code).toBe(125);
    expect(withPod.stderr).toMatch(/-p publishes a pod's ports, and pod taken has its own: publish them with `nsbox pod create -p`/);
    const clash = nsbox(root, ['run', '--name', 'taken', 'busybox', 'true']);
    expect(clash.code).toBe(125);
    expect(clash.stderr).toMatch(/a pod named taken already exists/);
    expect(containers()).toEqual([]);
    expect(pods()).toEqual(['taken']);
    expect(nsbox(root, ['pod', 'rm', '-f', 'taken']).code).toBe(0);
  });
});
