// What a pod's containers can do to `nsbox exec`, and what an exec'd process
// gets of its caller. `exec POD` (host tools) sees only the host's system
// directories, so a container that may trace it finds no host file behind
// /proc/<pid>/root or cwd; with default capabilities a container cannot open
// its /proc/<pid>/fd or environ at all. An exec'd process (into the pod or a
// container) never holds the caller's fds or terminal: pipes relayed by the
// CLI (a new pty with -t), its own session, so it can neither push
// keystrokes into the caller's terminal (TIOCSTI) nor leave a container
// process reading what the user types after it ended.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { artifacts } from '../dist/native/artifacts.js';
import { expectCanaryIntact, plantCanary, type HostCanary } from './helpers/canary.js';
import { nsboxWithFiles, podProcesses, startNsbox, yieldToEventLoop, type BackgroundCli } from './helpers/cli-process.js';
import { cleanupRoot, cliPath, tempRoot, testMode } from './helpers/env.js';
import { HELLO, importImage } from './helpers/images.js';
import { nsbox, removeAllPods, waitFor } from './helpers/nsbox.js';
import { runOnTerminal, shq } from './helpers/pty.js';

let root: string;
let canary: HostCanary;
const POD = 'ex';

/** A detached container of the pod, for positive controls and as an exec target. */
function runDetached(name: string, image: string, ...command: string[]): void {
  const r = nsbox(root, ['run', '-d', '--pod', POD, '--name', name, image, ...command]);
  expect(r.code, r.stderr).toBe(0);
}

/** The pid (in the pod) of the one process whose args are exactly `args`. */
async function podPidOf(args: string): Promise<number> {
  let pid: number | undefined;
  await waitFor(() => (pid = podProcesses(root, POD).find((p) => p.args === args)?.pid) !== undefined, 10_000, `"${args}" in pod ${POD}`);
  return pid!;
}

beforeAll(() => {
  root = tempRoot();
  importImage(root, 'busybox');
  importImage(root, 'probe', [{ path: 'bin/nsbox-probe', content: readFileSync(artifacts.probe), mode: 0o755 }]);
  expect(nsbox(root, ['pod', 'create', '--name', POD]).code).toBe(0);
  runDetached('sib', 'busybox', 'sleep', '1000');
  runDetached('tc', 'probe', 'sleep', '1001');
});
beforeEach(async () => {
  await yieldToEventLoop();
  canary = plantCanary(root);
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

describe(`exec POD with host tools (${testMode})`, () => {
  it('sees the host system directories, and not the host files, the state dir or /tmp', () => {
    // The seed's check, and a host system file read through the exec: the probe works.
    expect(nsbox(root, ['exec', '--join', 'pause', POD, '--', 'ps', '-eo', 'pid,args']).stdout).toMatch(/^\s*1 \/pause$/m);
    const osRelease = nsbox(root, ['exec', POD, '--', 'cat', '/etc/os-release']);
    expect(osRelease.stdout).toBe(readFileSync('/etc/os-release', 'utf8'));
    const r = nsbox(root, ['exec', POD, '--', 'sh', '-c', 'cat "$1"; ls "$2"; echo planted >> "$1"; touch "$3/planted-by-exec"', 'sh', canary.file, `${root}/pods`, canary.dir]);
    expectCanaryIntact(canary, r.stdout, r.stderr);
    expect(r.stdout, 'the state dir is visible').toBe('');
  });
});

describe(`a container against a concurrent exec of host tools (${testMode})`, () => {
  let exec: BackgroundCli;
  let execPid: number;
  const secret = `exec-secret-${Date.now()}`;

  beforeAll(async () => {
    exec = startNsbox(root, ['exec', '-e', `SECRET=${secret}`, POD, '--', 'sleep', '60']);
    execPid = await podPidOf('sleep 60');
  });
  afterAll(async () => {
    await exec.stop();
  });

  it('with the default capabilities cannot open its /proc/<pid>/fd or environ (EACCES)', () => {
    const script = [
      // Positive controls: its own environ, and a sibling's environ and fds in its own container.
      'SIBLING_TOKEN=sibling-env sleep 31 & s=$!',
      'until tr "\\0" "\\n" < /proc/$s/environ 2>/dev/null | grep -q SIBLING_TOKEN; do sleep 0.05; done',
      'tr "\\0" "\\n" < /proc/$$/environ | grep "^PATH="',
      'tr "\\0" "\\n" < /proc/$s/environ | grep "^SIBLING_TOKEN="',
      'echo "sibling fd1=$(readlink /proc/$s/fd/1)"',
      `cat /proc/${execPid}/environ 2>&1`,
      `for f in 0 1 2; do readlink -v /proc/${execPid}/fd/$f 2>&1; timeout 1 cat /proc/${execPid}/fd/$f </dev/null 2>&1; done`,
      'kill $s',
    ].join('; ');
    const r = nsbox(root, ['run', '--pod', POD, 'busybox', 'sh', '-c', script]);
    expect(r.stdout).toMatch(/^PATH=.*\nSIBLING_TOKEN=sibling-env\nsibling fd1=pipe:\[/m);
    const denials = r.stdout.split('\n').filter((l) => l.includes(`/proc/${execPid}/`) && /Permission denied/.test(l));
    expect(denials, r.stdout).toHaveLength(7);
    expect(r.stdout + r.stderr).not.toContain(secret);
    expectCanaryIntact(canary, r.stdout, r.stderr);
  });

  it.each([['SYS_PTRACE'], ['ALL']])('with --cap-add %s finds no host file behind its /proc/<pid>/root or cwd', async (cap) => {
    const sib = await podPidOf('sleep 1000');
    const script = [
      `cat /proc/${sib}/root/srv/hello.txt`,
      `cat /proc/${execPid}/root${canary.file} /proc/${execPid}/cwd/.${canary.file} 2>&1`,
      `ls /proc/${execPid}/root${root}/pods /proc/${execPid}/cwd/.${root}/pods 2>&1`,
      `touch /proc/${execPid}/root${canary.dir}/planted-by-container 2>&1`,
    ].join('; ');
    const r = nsbox(root, ['run', '--pod', POD, '--cap-add', cap, 'busybox', 'sh', '-c', script]);
    // The positive control: the same probe reads a sibling container's root.
    expect(r.stdout.startsWith(HELLO), r.stdout + r.stderr).toBe(true);
    expectCanaryIntact(canary, r.stdout, r.stderr);
    expect(r.stdout, 'the state dir is reachable').not.toMatch(/^[0-9a-f]{64}$/m);
  });
});

/** Prints the shell's own fds, then its pid, session and controlling terminal (from /proc/$$/stat). */
const FD_PROBE = [
  // Positive control: readlink shows a file's path for a file fd.
  'exec 3</etc/passwd; echo "fd3=$(readlink /proc/$$/fd/3)"; exec 3<&-',
  'for f in 0 1 2; do echo "fd$f=$(readlink /proc/$$/fd/$f)"; done',
  'read -r stat < /proc/$$/stat; set -- $stat; echo "pid=$1 session=$6 tty=$7"',
].join('; ');
const FD_PROBE_WITH_STDIN = `${FD_PROBE}; IFS= read -r line; echo "stdin=[$line]"`;

describe(`an exec'd process never gets the caller's fds or session (${testMode})`, () => {
  const targets = [
    ['exec --join CONTAINER', ['exec', '--join', 'tc', POD]],
    ['exec POD (host tools)', ['exec', POD]],
  ] as const;

  it.each(targets)('%s: stdio are pipes the CLI relays, in a session of its own', (_, execArgs) => {
    for (const interactive of [false, true]) {
      // Options go before the pod, as with docker and podman exec: after it, they belong to the command.
      const args = [execArgs[0], ...(interactive ? ['-i'] : []), ...execArgs.slice(1), '--', 'sh', '-c', interactive ? FD_PROBE_WITH_STDIN : FD_PROBE];
      const r = nsboxWithFiles(root, args, root, 'typed-by-the-user\n');
      expect(r.code, r.stderr).toBe(0);
      // What it printed reached the file given to the CLI: the relay works.
      expect(r.stdout).toContain('fd3=/etc/passwd\n');
      const fd = (n: number) => new RegExp(`^fd${n}=(.*)$`, 'm').exec(r.stdout)?.[1];
      for (const n of [1, 2]) {
        expect(fd(n), `fd ${n}`).toMatch(/^pipe:\[\d+\]$/);
        expect([r.stdoutFile, r.stderrFile]).not.toContain(fd(n));
      }
      if (interactive) {
        expect(fd(0)).toMatch(/^pipe:\[\d+\]$/);
        expect(r.stdout).toContain('stdin=[typed-by-the-user]');
      } else {
        expect(fd(0)).toMatch(/^(\/dev\/null|pipe:\[\d+\])$/);
      }
      // Its own session (a session led from outside the pod shows as 0), and no controlling terminal.
      const m = /^pid=(\d+) session=(\d+) tty=(\d+)$/m.exec(r.stdout);
      expect(m, r.stdout).not.toBeNull();
      expect(m![2]).toBe(m![1]);
      expect(m![3]).toBe('0');
    }
    expectCanaryIntact(canary);
  });
});

describe(`an exec'd process cannot reach the caller's terminal (${testMode})`, () => {
  /** The CLI as a shell command line. */
  const cli = (...args: string[]) => [process.execPath, cliPath, '--root', root, ...args].map(shq).join(' ');
  /** After the CLI is done, the caller's shell reads one line from its terminal: what the "user" types, unless something was pushed first. */
  const thenCallerReads = '; echo "cli-done rc=$?"; IFS= read -r line; echo "caller-read:[$line]"';

  it('TIOCSTI from the exec reaches only a pty of its own (-t), never the caller\'s terminal', () => {
    // Positive control: with -t the probe pushes a line into its own terminal and reads it back.
    const own = runOnTerminal(cli('exec', '-t', '--join', 'tc', POD, '--', 'sh', '-c', 'nsbox-probe tiocsti 0 pushed-into-own-tty && IFS= read -r l; echo "inner-read:[$l]"') + thenCallerReads, {
      when: 'cli-done',
      typed: 'typed-by-the-user\n',
    });
    expect(own.output).toContain('inner-read:[pushed-into-own-tty]');
    expect(own.output).toContain('caller-read:[typed-by-the-user]');
    // Without -t (and with -i), whatever fd it tries, nothing lands in the caller's input.
    for (const flags of [[], ['-i']]) {
      const push = 'for fd in 0 1 2; do nsbox-probe tiocsti $fd INJECTED-BY-THE-CONTAINER; done; true';
      const r = runOnTerminal(cli('exec', ...flags, '--join', 'tc', POD, '--', 'sh', '-c', push) + thenCallerReads, { when: 'cli-done', typed: 'typed-by-the-user\n' });
      expect(r.output, r.output).toContain('cli-done rc=0');
      expect(r.output, r.output).toContain('caller-read:[typed-by-the-user]');
    }
    expectCanaryIntact(canary);
  });

  it('with -t it gets a new pty: another terminal than the caller\'s, in its own session', () => {
    // pid, session, tty_nr, and the device of the terminal's filesystem: tty numbers repeat across devpts instances.
    const stat = 'read -r s < /proc/$$/stat; set -- $s; echo "$1 $6 $7 $(stat -L -c %d /proc/$$/fd/0)"';
    const r = runOnTerminal(`${stat.replace('echo "', 'echo "caller ')}; ${cli('exec', '-t', '--join', 'tc', POD, '--', 'sh', '-c', stat.replace('echo "', 'echo "inner '))}${thenCallerReads}`, {
      when: 'cli-done',
      typed: 'x\n',
    });
    const caller = /^caller (\d+) (\d+) (\d+) (\d+)$/m.exec(r.output);
    const inner = /^inner (\d+) (\d+) (\d+) (\d+)$/m.exec(r.output);
    expect(caller && inner, r.output).toBeTruthy();
    expect(caller![3]).not.toBe('0'); // the caller does have a terminal
    expect(inner![3]).not.toBe('0');
    expect(`${inner![3]} on ${inner![4]}`).not.toBe(`${caller![3]} on ${caller![4]}`);
    expect(inner![2]).toBe(inner![1]);
    expectCanaryIntact(canary);
  });

  it('a container process holding the exec\'s /proc/<pid>/fd/1 reads nothing the user types after the exec ended', async () => {
    // Positive control: a process of the container opens and reads another's fd 1 through /proc.
    const control = nsbox(root, ['exec', '--join', 'tc', POD, '--', 'sh', '-c', 'sh -c "echo control-data; sleep 3" > /tmp/control & sleep 0.5; cat /proc/$!/fd/1']);
    expect(control.stdout).toContain('control-data');
    // The spy waits for the exec's pid, opens its fd 1, and after the exec ended reads from it.
    const spy = [
      'rm -f /tmp/target /tmp/spy /tmp/spy-read; echo spy-ready',
      'until [ -s /tmp/target ]; do sleep 0.05; done; p=$(cat /tmp/target)',
      '{ ( exec 3<"/proc/$p/fd/1" && echo opened > /tmp/spy && while [ -e /proc/$p/stat ] && ! grep -q "^$p (sh) Z" /proc/$p/stat; do sleep 0.05; done && timeout 4 cat <&3 > /tmp/spy-read; echo read-done >> /tmp/spy ) || echo open-failed >> /tmp/spy; } &',
      'wait',
    ].join('\n');
    const spying = startNsbox(root, ['exec', '--join', 'tc', POD, '--', 'sh', '-c', spy]);
    try {
      await waitFor(() => spying.output().includes('spy-ready'), 10_000, 'the spy to start');
      const target = 'echo $$ > /tmp/target; until grep -qE "opened|open-failed" /tmp/spy 2>/dev/null; do sleep 0.05; done';
      const r = runOnTerminal(cli('exec', '--join', 'tc', POD, '--', 'sh', '-c', target) + '; echo "cli-done rc=$?"; sleep 5; echo caller-end', {
        when: 'cli-done',
        typed: 'typed-after-the-exec\n',
      });
      expect(r.output, r.output).toContain('cli-done rc=0');
      let report = '';
      await waitFor(() => /read-done|open-failed/.test((report = nsbox(root, ['exec', '--join', 'tc', POD, '--', 'cat', '/tmp/spy', '/tmp/spy-read']).stdout)), 15_000, 'the spy to finish');
      expect(report).not.toContain('typed-after-the-exec');
      expectCanaryIntact(canary, report);
    } finally {
      await spying.stop();
    }
  }, 60_000);
});
