// The Docker-API tests' fixture: `nsbox system service` on a private state
// root, and the real docker CLI (Debian's docker.io client, which
// scripts/test.mjs fetches and names in NSBOX_TEST_DOCKER_CLI) pointed at it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { cliPath } from './env.js';
import { waitFor } from './nsbox.js';

export function dockerClientPath(): string {
  const path = process.env.NSBOX_TEST_DOCKER_CLI;
  if (!path || !existsSync(path))
    throw new Error(
      'NO DOCKER CLIENT: the Docker-API tests drive the docker CLI from Debian\'s docker.io package, which `npm test` fetches (apt-get download docker.io) and names in NSBOX_TEST_DOCKER_CLI; run them through `npm test`',
    );
  return path;
}

export interface DockerService {
  socket: string;
  proc: ChildProcess;
  stderr: () => string;
  stop(): Promise<void>;
}

export async function startService(root: string, args: string[] = ['--time', '0']): Promise<DockerService> {
  const socket = join(root, 'docker.sock');
  const proc = spawn(process.execPath, [cliPath, '--root', root, 'system', 'service', ...args, `unix://${socket}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await waitFor(() => err.includes('serving the Docker API') || proc.exitCode !== null, 10_000, 'the service to listen');
  if (proc.exitCode !== null) throw new Error(`the service exited ${proc.exitCode}: ${err}`);
  return {
    socket,
    proc,
    stderr: () => err,
    async stop() {
      if (proc.exitCode === null && proc.pid) {
        const gone = new Promise((ok) => proc.once('exit', ok));
        process.kill(proc.pid, 'SIGTERM');
        await gone;
      }
    },
  };
}

export interface DockerResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function dockerEnv(socket: string, configDir: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: configDir };
}

/** Runs the docker CLI against the service (its config in a private directory, never ~/.docker). */
export function makeDocker(socket: string, scratch: string) {
  const configDir = mkdtempSync(join(scratch, 'docker-config-'));
  const client = dockerClientPath();
  const env = dockerEnv(socket, configDir);
  const run = (args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): DockerResult => {
    const r = spawnSync(client, args, { encoding: 'utf8', input: opts.input ?? '', env: { ...env, ...opts.env }, timeout: opts.timeoutMs ?? 60_000 });
    return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  return Object.assign(run, { client, env });
}
