// start, stop, kill, rm and wait of containers addressed as POD/NAME.
import type { Command } from 'commander';
import { parseSeconds } from './parse.js';
import { stateRoot } from './context.js';
import { forEachRef } from './each-ref.js';
import { NsboxError } from '../errors.js';

export function registerContainerVerbs(program: Command): void {
  program
    .command('start')
    .description('run exited containers again, with the same rootfs and command')
    .argument('<container...>', 'POD/NAME')
    .action(async (refs: string[], _opts: unknown, cmd: Command) => {
      const { getContainer } = await import('../api/containers.js');
      await forEachRef(refs, async (ref) => {
        await getContainer(ref, { root: stateRoot(cmd) }).start();
        process.stdout.write(ref + '\n');
      });
    });

  program
    .command('stop')
    .description('stop containers: SIGTERM, then SIGKILL after the grace period')
    .option('-t, --time <seconds>', 'grace period before SIGKILL', '10')
    .argument('<container...>', 'POD/NAME')
    .action(async (refs: string[], opts: { time: string }, cmd: Command) => {
      const timeoutSeconds = parseSeconds(opts.time, '-t');
      const { getContainer } = await import('../api/containers.js');
      await forEachRef(refs, async (ref) => {
        await getContainer(ref, { root: stateRoot(cmd) }).stop({ timeoutSeconds });
        process.stdout.write(ref + '\n');
      });
    });

  program
    .command('restart')
    .description('stop containers (if running) and start them again')
    .option('-t, --time <seconds>', 'grace period before SIGKILL', '10')
    .argument('<container...>', 'POD/NAME')
    .action(async (refs: string[], opts: { time: string }, cmd: Command) => {
      const timeoutSeconds = parseSeconds(opts.time, '-t');
      const { getContainer } = await import('../api/containers.js');
      await forEachRef(refs, async (ref) => {
        await getContainer(ref, { root: stateRoot(cmd) }).restart({ timeoutSeconds });
        process.stdout.write(ref + '\n');
      });
    });

  program
    .command('exists')
    .description('exit 0 if the container exists, 1 if not (podman container exists)')
    .argument('<container>', 'POD/NAME, or NAME')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const { getContainer } = await import('../api/containers.js');
      try {
        getContainer(ref, { root: stateRoot(cmd) });
      } catch (err) {
        if (err instanceof NsboxError && (err.code === 'NO_SUCH_CONTAINER' || err.code === 'NO_SUCH_POD')) return void (process.exitCode = 1);
        throw err;
      }
    });

  program
    .command('kill')
    .description("send a signal to containers' processes")
    .option('-s, --signal <signal>', 'signal name or number', 'KILL')
    .argument('<container...>', 'POD/NAME')
    .action(async (refs: string[], opts: { signal: string }, cmd: Command) => {
      const { getContainer } = await import('../api/containers.js');
      await forEachRef(refs, async (ref) => {
        getContainer(ref, { root: stateRoot(cmd) }).kill(opts.signal);
        process.stdout.write(ref + '\n');
      });
    });

  program
    .command('rm')
    .description('remove containers (with -f, stop them first)')
    .option('-f, --force', 'stop running containers first')
    .argument('<container...>', 'POD/NAME')
    .action(async (refs: string[], opts: { force?: boolean }, cmd: Command) => {
      const { getContainer } = await import('../api/containers.js');
      await forEachRef(refs, async (ref) => {
        await getContainer(ref, { root: stateRoot(cmd) }).remove({ force: opts.force });
        process.stdout.write(ref + '\n');
      });
    });

  program
    .command('wait')
    .description('wait for containers to exit and print their exit codes')
    .argument('<container...>', 'POD/NAME')
    .action(async (refs: string[], _opts: unknown, cmd: Command) => {
      const { getContainer } = await import('../api/containers.js');
      await forEachRef(refs, async (ref) => {
        process.stdout.write(`${await getContainer(ref, { root: stateRoot(cmd) }).wait()}\n`);
      });
    });
}
