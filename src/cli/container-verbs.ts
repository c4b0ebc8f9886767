// start, stop, kill, rm and wait of containers addressed as POD/NAME.
import type { Command } from 'commander';
import { parseSeconds } from './parse.js';
import { stateRoot } from './context.js';
import { forEachRef } from './each-ref.js';
import { NsboxError } from '../errors.js';
import { writeOut } from './output.js';

export function registerContainerVerbs(program: Command): void {
  program
    .command('start')
    .description('run exited containers again, with the same rootfs and command')
    .argument('<container...>', 'POD/NAME')
    .action(async (refs: string[], _opts: unknown, cmd: Command) => {
      const { getContainer } = await import('../api/containers.js');
      await forEachRef(refs, async (ref) => {
        await getContainer(ref, { root: stateRoot(cmd) }).start();
        writeOut(ref + '\n');
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
        writeOut(ref + '\n');
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
        writeOut(ref + '\n');
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
        writeOut(ref + '\n');
      });
    });

  program
    .command('rm')
    .description('remove containers (with -f, stop them first)')
    .option('-f, --force', 'stop running containers first')
    .option('-v, --volumes', 'remove their anonymous volumes (-v /path) too')
    .argument('<container...>', 'POD/NAME')
    .action(async (refs: string[], opts: { force?: boolean; volumes?: boolean }, cmd: Command) => {
      const { getContainer } = await import('../api/containers.js');
      await forEachRef(refs, async (ref) => {
        await getContainer(ref, { root: stateRoot(cmd) }).remove({ force: opts.force, volumes: opts.volumes });
        writeOut(ref + '\n');
      });
    });

  program
    .command('wait')
    .description('wait for containers to exit (or reach --condition) and print their exit codes')
    .option('--condition <state>', 'exited (default), stopped, running, healthy or unhealthy')
    .argument('<container...>', 'POD/NAME')
    .action(async (refs: string[], opts: { condition?: string }, cmd: Command) => {
      const { getContainer } = await import('../api/containers.js');
      const { waitForCondition } = await import('../api/health.js');
      await forEachRef(refs, async (ref) => {
        const c = getContainer(ref, { root: stateRoot(cmd) });
        const code = opts.condition ? await waitForCondition(c, opts.condition as never) : await c.wait();
        writeOut(`${code}\n`);
      });
    });

  const healthcheck = program.command('healthcheck').description("containers' health checks");
  healthcheck
    .command('run')
    .description('run the health check once: exit 0 when it passes, 1 (printing the state) when it fails')
    .argument('<container>', 'POD/NAME, or NAME')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const { getContainer } = await import('../api/containers.js');
      const { runHealthCheck } = await import('../api/health.js');
      const result = await runHealthCheck(getContainer(ref, { root: stateRoot(cmd) }));
      if (!result.passed) {
        writeOut(`${result.state.Status}\n`);
        process.exitCode = 1;
      }
    });
  for (const c of [healthcheck, ...healthcheck.commands]) c.exitOverride();
}
