import { NsboxError } from '../errors.js';
import { buildEnv, ExecFailure, spawnCommand } from '../pod/exec.js';
import { execPlan } from '../pod/plans.js';
import { closeHostProgram, lookUpHostView, openHostProgram } from '../pod/host-view.js';
import { containerExecPlan } from '../container/plans.js';
import type { SpawnPlan } from '../native/plan.js';
import type { CommandStdio } from '../pod/plans.js';
import { openPausePidfd } from '../pod/pod.js';
import { findPod } from '../pod/store.js';
import { closeFd } from '../native/ffi.js';
import { reaper } from '../native/reaper.js';
import { shellExitCode } from '../core/wait-status.js';
import { parseEnvOption } from './parse.js';
import { openTtyChannel } from './tty.js';
import { forwardSignals, relayStdio } from './exec-relay.js';
import type { ExecCliOptions } from './exec.js';

interface ExecTarget {
  pidfd: number;
  plan: (stdio: CommandStdio) => SpawnPlan;
  /** What to release once the command has started (or failed to). */
  release(): void;
}

/** `nsbox exec`: joins the pause or a container and runs the command as our child. */
export async function runExec(podRef: string, rawCommand: string[], opts: ExecCliOptions, root: string): Promise<void> {
  const command = rawCommand[0] === '--' ? rawCommand.slice(1) : rawCommand;
  if (command.length === 0) throw new NsboxError('INVALID_ARGUMENT', 'exec needs a command after the pod', 'nsbox exec POD -- CMD [ARGS...]');
  const record = findPod(root, podRef);
  const extraEnv = parseEnvOption(opts.env);
  const termEnv: Record<string, string> = opts.tty ? { TERM: process.env.TERM ?? 'xterm' } : {};
  let target: ExecTarget;
  if (opts.join === 'pause') {
    // A host program in the pod's namespaces, with a read-only view of the host's system directories.
    const pidfd = openPausePidfd(record);
    const env = buildEnv({ HOSTNAME: record.hostname, HOME: '/root', ...termEnv }, extraEnv);
    const cwd = opts.workdir ?? '/';
    const hostView = lookUpHostView();
    const execFd = openHostProgram(command[0]!, hostView);
    target = {
      pidfd,
      plan: (stdio) => execPlan({ pausePidfd: pidfd, argv: command, env, cwd, stdio, hostView, lockedView: record.mapping === 'root', execFd }),
      release: () => closeHostProgram(execFd),
    };
  } else {
    // Joining a container: its mount namespace, working directory and environment too.
    const { Container } = await import('../container/container.js');
    const { Pod } = await import('../pod/pod.js');
    const c = new Container(new Pod(root, record), opts.join);
    const r = c.record();
    const pidfd = c.openPidfd(r, 'exec');
    const base = Object.fromEntries(r.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    const env = buildEnv({ ...base, ...termEnv }, extraEnv);
    const cwd = opts.workdir ?? r.workdir;
    const canSetGroups = record.mapping !== 'single';
    target = {
      pidfd,
      plan: (stdio) => containerExecPlan({ containerPidfd: pidfd, argv: command, env, cwd, user: r.user, canSetGroups, stdio, capabilities: r.capabilities }),
      release: () => {},
    };
  }
  // Never our own fds: a terminal the command makes inside its root, or pipes we relay.
  const tty = opts.tty ? openTtyChannel(!!opts.interactive) : null;
  const relay = tty ? null : relayStdio(!!opts.interactive);
  let pid: number;
  try {
    const stdio: CommandStdio = tty ? { terminalSocket: tty.childSocket, ...tty.size } : { fds: relay!.childFds };
    pid = await spawnCommand(target.plan(stdio), { blocking: true });
  } catch (err) {
    tty?.close();
    relay?.close();
    if (err instanceof ExecFailure) {
      process.stderr.write(`nsbox: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    throw err;
  } finally {
    closeFd(target.pidfd);
    target.release();
  }
  const terminal = tty?.attach() ?? null;
  relay?.started();
  const stopForwarding = forwardSignals(pid);
  const status = await reaper.wait(pid);
  stopForwarding();
  if (terminal) await terminal.drain();
  if (relay) await relay.finish();
  process.exitCode = shellExitCode(status);
}
