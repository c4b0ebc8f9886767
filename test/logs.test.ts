// Container logs as a user meets them: `logs -f` follows output as it is
// written and ends with the container; a character the container writes in
// two parts is logged whole; and when the log cannot be written (the file
// size limit, as a full disk would) the container keeps running, the loss is
// said in the log, and logging resumes once writes work again.
// nsbox has no log rotation: a log grows until the container is removed.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerPaths } from '../dist/container/files.js';
import { importBusybox } from './helpers/busybox.js';
import { cleanupRoot, cliPath, tempRoot, testMode } from './helpers/env.js';
import { nsbox, removeAllPods, waitFor } from './helpers/nsbox.js';
import { podFacts, running, settledWithin, startCli } from './helpers/processes.js';

const POD = 'logs';
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

const run = (...args: string[]) => nsbox(root, ['run', '--pod', POD, ...args]);

function state(name: string): { state: string; exitCode: number | null; process: { pid: number } | null } {
  const all = JSON.parse(nsbox(root, ['ps', '-a', '--format', 'json']).stdout) as { name: string; state: string; exitCode: number | null; process: { pid: number } | null }[];
  const r = all.find((c) => c.name === name);
  if (!r) throw new Error(`no container ${name} in ps -a`);
  return r;
}

/** `nsbox logs` with stdout and stderr into one file, so their order is kept. */
function logsInOrder(ref: string): string {
  const file = join(root, `logs-${Date.now()}.out`);
  const fd = openSync(file, 'w', 0o600);
  try {
    const r = spawnSync(process.execPath, [cliPath, '--root', root, 'logs', ref], { stdio: ['ignore', fd, fd], timeout: 30_000 });
    expect(r.status).toBe(0);
  } finally {
    closeSync(fd);
  }
  return readFileSync(file, 'utf8');
}

describe(`logs (${testMode})`, () => {
  it('logs -f prints new output while the container runs, and ends with it', async () => {
    // The container waits for the test between its two lines.
    expect(run('-d', '--name', 'follow', 'busybox', 'sh', '-c', 'echo first; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo second; exit 3').code).toBe(0);
    const follow = startCli(root, ['logs', '-f', `${POD}/follow`]);
    await waitFor(() => follow.stdout() === 'first\n', 10_000, 'logs -f to print the first line');
    // Still following: the container runs and has more to say.
    expect(await settledWithin(follow.exited, 300)).toBe('pending');
    expect(state('follow').state).toBe('running');
    const go = nsbox(root, ['exec', '--join', 'follow', POD, '--', 'touch', '/tmp/go']);
    expect(go.code, go.stderr).toBe(0);
    expect(await settledWithin(follow.exited, 15_000)).toBe(0);
    expect(follow.stdout()).toBe('first\nsecond\n');
    expect(nsbox(root, ['wait', `${POD}/follow`]).stdout).toBe('3\n');
    // Of an exited container, -f prints it all and returns.
    const again = nsbox(root, ['logs', '-f', `${POD}/follow`]);
    expect([again.code, again.stdout]).toEqual([0, 'first\nsecond\n']);
  });

  it('a character written in two parts is logged whole, on stdout and stderr', () => {
    // é is c3 a9, 😀 is f0 9f 98 80: the sleeps make the container's writes separate reads.
    const script = [
      "printf '\\303'; sleep 0.3; printf '\\251\\n'",
      "printf '\\360\\237'; sleep 0.3; printf '\\230'; sleep 0.3; printf '\\200\\n'",
      "printf '\\303' >&2; sleep 0.3; printf '\\251\\n' >&2",
    ].join('; ');
    const fg = run('--name', 'utf8', 'busybox', 'sh', '-c', script);
    expect(fg.code, fg.stderr).toBe(0);
    expect(fg.stdout).toBe('é\n😀\n');
    expect(fg.stderr).toBe('é\n');
    const logs = nsbox(root, ['logs', `${POD}/utf8`]);
    expect([logs.stdout, logs.stderr]).toEqual(['é\n😀\n', 'é\n']);
    // Control: bytes that are no UTF-8 still show, as U+FFFD, and are not held back.
    const bad = run('--name', 'not-utf8', 'busybox', 'sh', '-c', "printf 'a\\377b\\n'");
    expect(bad.stdout).toBe('a\uFFFDb\n');
  });

  it('a log that cannot be written: the container runs on, the loss is said with its size, and logging resumes', async () => {
    const pad = 'x'.repeat(100);
    // One echo per line (a single write, so pipe reads hold whole lines); the count is kept in a file too.
    const loop = `i=0; while true; do i=$((i+1)); echo "line $i ${pad}"; echo $i > /tmp/count; sleep 0.01; done`;
    expect(run('-d', '--name', 'chatty', 'busybox', 'sh', '-c', loop).code).toBe(0);
    const { id, supervisorPid } = podFacts(root, POD);
    const log = containerPaths(root, id, 'chatty').log;
    const size = () => statSync(log).size;
    const printed = () => Number(nsbox(root, ['exec', '--join', 'chatty', POD, '--', 'cat', '/tmp/count']).stdout.trim());
    await waitFor(() => size() >= 16 * 1024, 20_000, 'some log');

    // Hold the container, let the supervisor catch up, then limit the supervisor's
    // file size to half a line more than the log has: the next entry is cut.
    expect(nsbox(root, ['kill', '-s', 'STOP', `${POD}/chatty`]).code).toBe(0);
    let settled = -1;
    await waitFor(() => settled === (settled = size()), 10_000, 'the log to stop growing');
    const limit = size() + 50;
    execFileSync('prlimit', ['--pid', String(supervisorPid), `--fsize=${limit}:`]);
    let restored = false;
    try {
      const atLimit = printed();
      expect(nsbox(root, ['kill', '-s', 'CONT', `${POD}/chatty`]).code).toBe(0);
      // The container keeps printing (it is not blocked), while the log stays at the limit.
      await waitFor(() => printed() >= atLimit + 30, 20_000, 'the container to go on printing');
      expect(size()).toBe(limit);
      expect(state('chatty').state).toBe('running');
      expect(running(supervisorPid)).toBe(true);
      execFileSync('prlimit', ['--pid', String(supervisorPid), '--fsize=unlimited:']);
      restored = true;
      const resumedAt = printed();
      await waitFor(() => nsbox(root, ['logs', `${POD}/chatty`]).stdout.includes(`line ${resumedAt + 5} `), 20_000, 'logging to resume');
    } finally {
      if (!restored) execFileSync('prlimit', ['--pid', String(supervisorPid), '--fsize=unlimited:']);
    }
    expect(nsbox(root, ['stop', '-t', '5', `${POD}/chatty`]).code).toBe(0);
    expect(state('chatty')).toMatchObject({ state: 'exited', exitCode: 143 });

    // What a user reads: whole lines, one gap, and at the gap a line saying how much is missing.
    const lines = logsInOrder(`${POD}/chatty`).split('\n').filter(Boolean);
    const noticeAt = lines.findIndex((l) => l.startsWith('nsbox: '));
    expect(noticeAt, lines.filter((l) => !l.startsWith('line ')).join('\n')).toBeGreaterThan(0);
    expect(lines.filter((l) => l.startsWith('nsbox: '))).toHaveLength(1);
    const numbers = lines.filter((_, i) => i !== noticeAt).map((l) => {
      expect(l).toMatch(new RegExp(`^line \\d+ ${pad}$`));
      return Number(l.split(' ')[1]);
    });
    const [before, after] = [numbers[noticeAt - 1]!, numbers[noticeAt]!];
    // Lines printed while the log was full are lost (some may still have been in the pipe when the limit went).
    expect(after).toBeGreaterThan(before + 1);
    numbers.forEach((n, i) => i === 0 || i === noticeAt || expect(n).toBe(numbers[i - 1]! + 1));
    let missing = 0;
    for (let n = before + 1; n < after; n++) missing += Buffer.byteLength(`line ${n} ${pad}\n`);
    expect(lines[noticeAt]).toBe(`nsbox: ${missing} bytes of output were lost: the file size limit was reached (EFBIG)`);
  });
});
