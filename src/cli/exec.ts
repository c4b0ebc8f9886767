import type { Command } from 'commander';
import { collect } from './parse.js';
import { dataRoot, stateRoot } from './context.js';

export interface ExecCliOptions {
  join: string;
  env: string[];
  workdir?: string;
  interactive?: boolean;
  detach?: boolean;
  tty?: boolean;
  user?: string;
  envFile: string[];
}

export function registerExec(program: Command): void {
  program
    .command('exec')
    .description("run a command in a pod's namespaces")
    .option('--join <name>', 'what to join: pause (the pod itself) or a container of the pod', 'pause')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', collect, [])
    .option('--env-file <file>', 'read KEY=VALUE lines from a file (repeatable)', collect, [])
    .option('-w, --workdir <dir>', "working directory (default: / for the pause, the container's own)")
    .option('-i, --interactive', 'keep stdin attached')
    .option('-d, --detach', 'leave it running in the background (stdio on /dev/null)')
    .option('-t, --tty', 'allocate a pseudo-terminal')
    .option('-u, --user <user[:group]>', "run as this user: UID[:GID], or a name from the container's image (default: the container's user, or the pod's root)")
    .argument('<pod>', 'pod name or id')
    .argument('<command...>', 'command and arguments')
    .passThroughOptions()
    .action(async (podRef: string, rawCommand: string[], opts: ExecCliOptions, cmd: Command) => {
      // The work lives in exec-run.ts, loaded only for this verb.
      const { runExec } = await import('./exec-run.js');
      await runExec(podRef, rawCommand, opts, stateRoot(cmd), dataRoot(cmd));
    });
}
