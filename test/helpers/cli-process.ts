// The CLI run the ways the escape tests need beyond helpers/nsbox.ts: with
// the test's own files as its stdio, in the background while a container
// probes it, under resource limits, and what a pod's PID namespace holds.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliPath } from './env.js';
import { nsbox, type CliResult } from './nsbox.js';

export interface FileStdioResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** What the CLI wrote into the files it was given. */
  stdout: string;
  stderr: string;
  /** The files themselves, to compare with what the exec'd process holds. */
  stdoutFile: string;
  stderrFile: string;
}

/** Runs the CLI with host files of the test as its stdin, stdout and stderr. */
export function nsboxWithFiles(root: string, args: string[], dir: string, input = ''): FileStdioResult {
  const tag = `${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2)}`;
  const files = ['in', 'out', 'err'].map((f) => join(dir, `cli-${f}-${tag}`));
  writeFileSync(files[0]!, input, { mode: 0o600 });
  const fds = [openSync(files[0]!, 'r'), openSync(files[1]!, 'w', 0o600), openSync(files[2]!, 'w', 0o600)];
  try {
    const r = spawnSync(process.execPath, [cliPath, '--root', root, ...args], { stdio: fds, timeout: 30_000 });
    return { code: r.status, signal: r.signal, stdout: readFileSync(files[1]!, 'utf8'), stderr: readFileSync(files[2]!, 'utf8'), stdoutFile: files[1]!, stderrFile: files[2]! };
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

export interface BackgroundCli {
  child: ChildProcess;
  output(): string;
  /** Ends it (by its pid) and waits for it. */
  stop(): Promise<void>;
}

/** Starts the CLI in the background with pipes; `env` replaces the environment. */
export function startNsbox(root: string, args: string[], env: NodeJS.ProcessEnv = process.env): BackgroundCli {
  const child = spawn(process.execPath, [cliPath, '--root', root, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  // 'exit', not 'close': what the CLI started may still hold its pipes.
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return {
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      child.stdout!.destroy();
      child.stderr!.destroy();
    },
  };
}

export interface LimitedResult extends CliResult {
  signal: NodeJS.Signals | null;
  /** False if it had to be killed at the deadline. */
  finished: boolean;
}

/**
 * Runs the CLI with its data segment capped (so a read that never ends
 * fails in the CLI instead of eating the machine's memory) and a deadline.
 */
export function nsboxLimited(root: string, args: string[], opts: { dataBytes: number; timeoutMs: number }): LimitedResult {
  const r = spawnSync('prlimit', [`--data=${opts.dataBytes}`, '--', process.execPath, cliPath, '--root', root, ...args], {
    encoding: 'utf8',
    input: '',
    timeout: opts.timeoutMs,
    killSignal: 'SIGKILL',
  });
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  return { code: r.status ?? 128 + 9, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', finished: !timedOut };
}

export interface PodProcess {
  pid: number;
  args: string;
}

/** The processes of a pod's PID namespace, as a fresh busybox container of the pod lists them. */
export function podProcesses(root: string, pod: string, image = 'busybox'): PodProcess[] {
  const r = nsbox(root, ['run', '--pod', pod, image, 'ps', '-o', 'pid,args']);
  if (r.code !== 0) throw new Error(`ps in pod ${pod} failed (exit ${r.code}): ${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => /^\s*(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => ({ pid: Number(m[1]), args: m[2]! }));
}

export interface PodEntry {
  name: string;
  pausePid: number;
  supervisorPid: number;
}

export function podEntry(root: string, pod: string): PodEntry {
  const pods = JSON.parse(nsbox(root, ['pod', 'ls', '--format', 'json']).stdout) as PodEntry[];
  const p = pods.find((x) => x.name === pod);
  if (!p) throw new Error(`pod ${pod} is not listed`);
  return p;
}

/**
 * Lets the test worker's event loop turn. A file of synchronous tests (each
 * only spawnSync) otherwise never reads vitest's RPC replies, and after 60 s
 * the worker reports a timeout of its own.
 */
export const yieldToEventLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/** One line on stderr saying `nsbox: ...`: how the CLI refuses something. */
export function isOneLineRefusal(r: { code: number | null; stderr: string }): boolean {
  return r.code === 125 && /^nsbox: [^\n]+\n?$/.test(r.stderr);
}
