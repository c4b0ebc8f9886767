import { NsboxError } from '../errors.js';
import { buildEnv, ExecFailure, spawnCommand } from '../pod/exec.js';
import { execPlan } from '../pod/plans.js';
import { containerExecPlan } from '../container/plans.js';
import type { SpawnPlan } from '../native/plan.js';
import { openPausePidfd } from '../pod/pod.js';
import { findPod } from '../pod/store.js';
import { closeFd } from '../native/ffi.js';
import { reaper } from '../process/reaper.js';
import { shellExitCode } from '../process/wait-status.js';
import { parseEnvOption } from './parse.js';
import { attachTty } from './tty.js';
import type { ExecCliOptions } from './exec.js';


/** `nsbox exec`: joins the pause or a container and runs the command as our child. */
export async function runExec(podRef: string, rawCommand: string[], opts: ExecCliOptions, root: string): Promise<void> {
  const command = rawCommand[0] === '--' ? rawCommand.slice(1) : rawCommand;
  if (command.length === 0) throw new NsboxError('INVALID_ARGUMENT', 'exec needs a command after the pod', 'nsbox exec POD -- CMD [ARGS...]');
  const record = findPod(root, podRef);
  const extraEnv = parseEnvOption(opts.env);
  const termEnv: Record<string, string> = opts.tty ? { TERM: process.env.TERM ?? 'xterm' } : {};
  let target: { pidfd: number; plan: (stdio: [number, number, number], tty: boolean) => SpawnPlan };
  if (opts.join === 'pause') {
    const pidfd = openPausePidfd(record);
    const env = buildEnv({ HOSTNAME: record.hostname, HOME: '/root', ...termEnv }, extraEnv);
    const cwd = opts.workdir ?? '/';
    target = { pidfd, plan: (stdio, tty) => execPlan({ pausePidfd: pidfd, argv: command, env, cwd, stdio, tty }) };
  } else {
    // Joining a container: its mount namespace, working directory and environment too.
    const { Container } = await import('../container/container.js');
    const { Pod } = await import('../pod/pod.js');
    const c = new Container(new Pod(root, record), opts.join);
    const r = c.record();
    const pidfd = c.openPidfd(r, 'exec in');
    const base = Object.fromEntries(r.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    const env = buildEnv({ ...base, ...termEnv }, extraEnv);
    const cwd = opts.workdir ?? r.workdir;
    const canSetGroups = record.mapping !== 'single';
    target = { pidfd, plan: (stdio, tty) => containerExecPlan({ containerPidfd: pidfd, argv: command, env, cwd, user: r.user, canSetGroups, stdio, tty, capabilities: r.capabilities }) };
  }
  const tty = opts.tty ? attachTty(!!opts.interactive) : null;
  let pid: number;
  try {
    const stdio: [number, number, number] = tty ? [tty.slave, tty.slave, tty.slave] : [opts.interactive ? 0 : -1, 1, 2];
    pid = await spawnCommand(target.plan(stdio, !!tty), { blocking: true });
  } catch (err) {
    tty?.close();
    if (err instanceof ExecFailure) {
      process.stderr.write(`nsbox: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    throw err;
  } finally {
    closeFd(target.pidfd);
  }
  tty?.started();
  const status = await reaper.wait(pid);
  if (tty) await tty.drain();
  process.exitCode = shellExitCode(status);
}
