import type { Command } from 'commander';
import { NsboxError } from '../errors.js';
import { buildEnv, ExecFailure, spawnInPod } from '../pod/exec.js';
import { openPausePidfd } from '../pod/pod.js';
import { findPod } from '../pod/store.js';
import { closeFd } from '../native/ffi.js';
import { reaper } from '../process/reaper.js';
import { shellExitCode } from '../process/wait-status.js';
import { collect, parseEnvOption } from './parse.js';
import { stateRoot } from './context.js';
import { attachTty } from './tty.js';

interface ExecCliOptions {
  join: string;
  env: string[];
  workdir: string;
  interactive?: boolean;
  tty?: boolean;
}

export function registerExec(program: Command): void {
  program
    .command('exec')
    .description("run a command in a pod's namespaces")
    .option('--join <name>', 'what to join: pause (the pod itself)', 'pause')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', collect, [])
    .option('-w, --workdir <dir>', 'working directory inside the pod', '/')
    .option('-i, --interactive', 'keep stdin attached')
    .option('-t, --tty', 'allocate a pseudo-terminal')
    .argument('<pod>', 'pod name or id')
    .argument('<command...>', 'command and arguments')
    .passThroughOptions()
    .action(async (podRef: string, rawCommand: string[], opts: ExecCliOptions, cmd: Command) => {
      const command = rawCommand[0] === '--' ? rawCommand.slice(1) : rawCommand;
      if (command.length === 0) throw new NsboxError('INVALID_ARGUMENT', 'exec needs a command after the pod', 'nsbox exec POD -- CMD [ARGS...]');
      if (opts.join !== 'pause')
        throw new NsboxError('INVALID_ARGUMENT', `cannot join ${JSON.stringify(opts.join)}: this version joins only the pod's pause`, 'use --join pause');
      const record = findPod(stateRoot(cmd), podRef);
      const env = buildEnv({ HOSTNAME: record.hostname, HOME: '/root', ...(opts.tty ? { TERM: process.env.TERM ?? 'xterm' } : {}) }, parseEnvOption(opts.env));
      const pidfd = openPausePidfd(record);
      const tty = opts.tty ? attachTty(!!opts.interactive) : null;
      let pid: number;
      try {
        const stdio: [number, number, number] = tty ? [tty.slave, tty.slave, tty.slave] : [opts.interactive ? 0 : -1, 1, 2];
        pid = await spawnInPod({ pausePidfd: pidfd, argv: command, env, cwd: opts.workdir, stdio, tty: !!tty, blocking: true });
      } catch (err) {
        tty?.close();
        if (err instanceof ExecFailure) {
          process.stderr.write(`nsbox: ${err.message}\n`);
          process.exitCode = err.exitCode;
          return;
        }
        throw err;
      } finally {
        closeFd(pidfd);
      }
      tty?.started();
      const status = await reaper.wait(pid);
      if (tty) await tty.drain();
      process.exitCode = shellExitCode(status);
    });
}
