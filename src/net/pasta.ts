// `--network pasta`: pasta (Debian passt) attached to the pod's user and
// network namespaces gives the pod an interface with outbound access (a copy
// of the host's address and routes) and serves the published ports itself.
// It runs in the host's namespaces as a child of the pod's supervisor (dies
// with it), in the foreground; it writes its pid file once it is set up,
// which is our readiness signal.
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { NsboxError } from '../errors.js';
import type { SpawnPlan } from '../native/plan.js';
import { runPlan } from '../native/spawn.js';
import { reaper } from '../native/reaper.js';
import { pastaSupport } from './pasta-support.js';
import type { PortMapping } from './ports.js';

const SIGKILL = 9;
const READY_TIMEOUT_MS = 10_000;

/** pasta's -t/-u spec: [ADDR/]HOSTPORT:PODPORT, comma-separated. */
function portSpec(ports: PortMapping[], protocol: 'tcp' | 'udp'): string {
  const mine = ports.filter((p) => p.protocol === protocol);
  if (!mine.length) return 'none';
  return mine.map((p) => `${p.hostIp === '0.0.0.0' ? '' : `${p.hostIp}/`}${p.hostPort}:${p.podPort}`).join(',');
}

export function pastaArgs(pausePid: number, ports: PortMapping[], pidFile: string, asRoot: boolean): string[] {
  return [
    '--foreground',
    '--quiet',
    // As root pasta would switch to nobody, who cannot open the pod's namespaces.
    ...(asRoot ? ['--runas', '0:0'] : []),
    '--pid', pidFile,
    '--config-net',
    '--userns', `/proc/${pausePid}/ns/user`,
    '--netns', `/proc/${pausePid}/ns/net`,
    '--tcp-ports', portSpec(ports, 'tcp'),
    '--udp-ports', portSpec(ports, 'udp'),
    // Nothing of the host's loopback is reachable from the pod unless published.
    '--tcp-ns', 'none',
    '--udp-ns', 'none',
    '--no-map-gw',
  ];
}

/** pasta writes its pid once it is set up: ready when the file names this pasta (not one before it). */
function isReady(pidFile: string, pid: number): boolean {
  try {
    return Number(readFileSync(pidFile, 'utf8').trim()) === pid;
  } catch {
    return false;
  }
}

export function lastLogLine(logFile: string): string {
  try {
    const lines = readFileSync(logFile, 'utf8').split('\n').filter((l) => l.trim() && !l.includes('syslog'));
    return lines.pop()?.trim() ?? '';
  } catch {
    return '';
  }
}

export function pastaError(message: string): NsboxError {
  if (/tun/i.test(message)) return new NsboxError('PASTA_FAILED', `pasta could not open the tun device: ${message}`, 'sudo chmod 0666 /dev/net/tun, or use --network builtin');
  if (/bind|in use/i.test(message)) return new NsboxError('PASTA_FAILED', `pasta could not publish the ports: ${message}`, 'choose other host ports with -p');
  return new NsboxError('PASTA_FAILED', `pasta failed: ${message || 'it exited without a message'}`, 'see `pasta --help`, or use --network builtin');
}

export const pastaFiles = (podDir: string) => ({ pidFile: join(podDir, 'pasta.pid'), logFile: join(podDir, 'pasta.log') });

/** pasta's plan: stderr to `logFd` (its parent's fd of pasta.log in the pod's directory). */
export function pastaPlan(pausePid: number, ports: PortMapping[], podDir: string, logFd: number): SpawnPlan {
  const support = pastaSupport();
  if (!support.ok) throw new NsboxError('PASTA_UNAVAILABLE', `--network pasta: ${support.problem}`, support.fix);
  const argv = [support.pasta, ...pastaArgs(pausePid, ports, pastaFiles(podDir).pidFile, process.geteuid?.() === 0)];
  return {
    cloneFlags: 0,
    middle: [],
    after: [],
    child: [
      { op: 'chdir', path: '/' },
      { op: 'stdio', fds: [-1, -1, logFd] },
      { op: 'closeFds', from: 3 },
      { op: 'pdeathsig', signal: SIGKILL },
      { op: 'exec', file: support.pasta, argv, env: [], path: '' },
    ],
  };
}

/** Starts pasta for the pod whose pause is `pausePid`; resolves with its pid once it is ready. */
export async function startPasta(pausePid: number, ports: PortMapping[], podDir: string): Promise<number> {
  const { pidFile, logFile } = pastaFiles(podDir);
  rmSync(pidFile, { force: true }); // a pasta started again must not pass for ready by its predecessor's file
  const log = openSync(logFile, 'w', 0o600);
  let pid: number;
  try {
    pid = await runPlan(pastaPlan(pausePid, ports, podDir, log));
  } finally {
    closeSync(log);
  }
  let exited = false;
  const exit = reaper.wait(pid, { keepAlive: false }).then(() => (exited = true));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!isReady(pidFile, pid)) {
    if (exited || Date.now() > deadline) {
      if (!exited) process.kill(pid, SIGKILL);
      await exit;
      throw pastaError(lastLogLine(logFile));
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return pid;
}
