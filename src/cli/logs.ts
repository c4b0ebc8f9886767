import type { Command } from 'commander';
import { NsboxError } from '../errors.js';
import { stateRoot } from './context.js';

function parseTail(value: string | undefined): number | undefined {
  const tail = value === undefined || value === 'all' ? undefined : Number(value);
  if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw new NsboxError('INVALID_ARGUMENT', `invalid value for --tail: ${JSON.stringify(value)}`, 'give a number of lines');
  return tail;
}

/** `nsbox pod logs POD`: every container's log (or one's, -c), each line after its container's name when there are several. */
export function registerPodLogs(pod: Command): void {
  pod
    .command('logs')
    .description("print the output of a pod's containers")
    .option('-f, --follow', 'keep printing until they exit')
    .option('--tail <n>', 'only the last N lines of each')
    .option('-c, --container <name>', 'only this container')
    .argument('<pod>', 'pod name or id')
    .action(async (podRef: string, opts: { follow?: boolean; tail?: string; container?: string }, cmd: Command) => {
      const tail = parseTail(opts.tail);
      const { getContainer, listContainerRecords } = await import('../api/containers.js');
      const { followLogs } = await import('./follow-logs.js');
      const root = stateRoot(cmd);
      const records = listContainerRecords(root, podRef).filter((r) => opts.container === undefined || r.name === opts.container);
      if (opts.container !== undefined && records.length === 0) throw new NsboxError('NO_SUCH_CONTAINER', `no such container: ${podRef}/${opts.container}`, `list them with \`nsbox ps -a --pod ${podRef}\``);
      const several = records.length > 1;
      await Promise.all(records.map((r) => followLogs(getContainer(`${r.podName}/${r.name}`, { root }), { follow: !!opts.follow, tail, prefix: several ? `${r.name} ` : '' })));
    });
}

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description("print a container's output (stdout and stderr)")
    .option('-f, --follow', 'keep printing until the container exits')
    .option('--tail <n>', 'only the last N lines')
    .argument('<container>', 'POD/NAME')
    .action(async (ref: string, opts: { follow?: boolean; tail?: string }, cmd: Command) => {
      const tail = parseTail(opts.tail);
      const { getContainer } = await import('../api/containers.js');
      const { followLogs } = await import('./follow-logs.js');
      await followLogs(getContainer(ref, { root: stateRoot(cmd) }), { follow: !!opts.follow, tail });
    });
}
