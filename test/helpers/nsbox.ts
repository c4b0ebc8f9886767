// Test helpers: run the real CLI, and check that nothing is left behind.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { cliPath } from './env.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function nsbox(root: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const r = spawnSync(process.execPath, [cliPath, '--root', root, ...args], {
    encoding: 'utf8',
    input: opts.input ?? '',
    env: opts.env ?? process.env,
    timeout: 30_000,
  });
  return { code: r.status ?? 128 + 9, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the CLI, expects exit 0 (the failure shows its stderr), and returns its stdout. */
export function nsboxOk(root: string, args: string[]): string {
  const r = nsbox(root, args);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

export function nsboxAsync(root: string, args: string[]): Promise<CliResult> {
  return nsboxStart(root, args).done;
}

/** Starts the CLI; `pid` to watch it while it runs, `done` for its result. */
export function nsboxStart(root: string, args: string[]): { pid: number; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [cliPath, '--root', root, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return { pid: child.pid!, done: new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? 137, stdout, stderr }))) };
}

/** True while process `pid` holds the flock on `file` (from /proc/locks; a waiter's line has "->"). */
export function holdsFlock(pid: number, file: string): boolean {
  let ino: number;
  try {
    ino = statSync(file).ino;
  } catch {
    return false;
  }
  return readFileSync('/proc/locks', 'utf8')
    .split('\n')
    .some((l) => {
      const m = /^\d+: FLOCK\s+ADVISORY\s+WRITE\s+(\d+)\s+[0-9a-f]+:[0-9a-f]+:(\d+)\s/.exec(l);
      return !!m && Number(m[1]) === pid && Number(m[2]) === ino;
    });
}

export function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? null;
  } catch {
    return null;
  }
}

/** A process that is gone or a zombie (an orphan whose new parent never reaps it stays one). */
export function isGoneOrZombie(pid: number): boolean {
  const s = procState(pid);
  return s === null || s === 'Z' || s === 'X';
}

export async function waitFor(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every pod directory under the root; should be empty after rm. */
export function podDirs(root: string): string[] {
  try {
    return readdirSync(join(root, 'pods'));
  } catch {
    return [];
  }
}

/** Live processes whose command line mentions `needle` (e.g. a test's state root). */
export function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle) && !isGoneOrZombie(Number(entry))) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids.filter((p) => p !== process.pid);
}

/** Live children of `ppid` whose command line mentions `needle` (tests run in parallel: name your own). */
export function childrenOf(ppid: number, needle: string): number[] {
  return processesMentioning(needle).filter((pid) => {
    try {
      return new RegExp(`^PPid:\\s+${ppid}$`, 'm').test(readFileSync(`/proc/${pid}/status`, 'utf8'));
    } catch {
      return false;
    }
  });
}

/**
 * Removes every pod under the root (also those a failed test left) before the
 * root goes, and every user network: a network's holders run in sessions of
 * their own and would outlive the root, unattributable.
 */
export function removeAllPods(root: string): void {
  const pods = JSON.parse(nsbox(root, ['pod', 'ls', '--format', 'json']).stdout || '[]') as { name: string }[];
  if (pods.length) nsbox(root, ['pod', 'rm', '-f', ...pods.map((p) => p.name)]);
  if (!existsSync(join(root, 'networks'))) return;
  const networks = JSON.parse(nsbox(root, ['network', 'ls', '--format', 'json']).stdout || '[]') as { Name: string }[];
  if (networks.length) nsbox(root, ['network', 'rm', '-f', ...networks.map((n) => n.Name)]);
}
