import type { Command } from 'commander';
import { NsboxError } from '../errors.js';
import { stateRoot } from './context.js';

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description("print a container's output (stdout and stderr)")
    .option('-f, --follow', 'keep printing until the container exits')
    .option('--tail <n>', 'only the last N lines')
    .argument('<container>', 'POD/NAME')
    .action(async (ref: string, opts: { follow?: boolean; tail?: string }, cmd: Command) => {
      const tail = opts.tail === undefined || opts.tail === 'all' ? undefined : Number(opts.tail);
      if (tail !== undefined && (!Number.isInteger(tail) || tail < 0))
        throw new NsboxError('INVALID_ARGUMENT', `invalid value for --tail: ${JSON.stringify(opts.tail)}`, 'give a number of lines');
      const { getContainer } = await import('../api/containers.js');
      const { followLogs } = await import('./follow-logs.js');
      await followLogs(getContainer(ref, { root: stateRoot(cmd) }), { follow: !!opts.follow, tail });
    });
}
