import type { Command } from 'commander';
import { parseFormat, shortId, table, timeAgo } from './format.js';
import { stateRoot } from './context.js';
import { collect } from './parse.js';
import { writeOut } from './output.js';

/** "Up 3 seconds", "Restarting (1) 2 seconds ago", "Exited (0)": when, as podman adds it. */
function statusTime(r: { state: string; startedAt: string | null; finishedAt: string | null }): string {
  if (r.state === 'restarting') return r.finishedAt ? ` ${timeAgo(r.finishedAt)}` : '';
  if (r.state === 'exited' || !r.startedAt) return '';
  return ` ${timeAgo(r.startedAt).replace(/ ago$/, '')}`;
}

export function registerPs(program: Command): void {
  program
    .command('ps')
    .description('list containers (running ones; -a for all)')
    .option('-a, --all', 'show exited containers too')
    .option('--pod <pod>', 'only this pod')
    .option('--format <format>', 'table or json', 'table')
    .option('-q, --quiet', 'print only POD/NAME')
    .option('-f, --filter <KEY=VALUE>', 'only containers with label=KEY[=VALUE], name=TEXT or status=STATE (repeatable)', collect, [])
    .action(async (opts: { all?: boolean; pod?: string; format?: string; quiet?: boolean; filter: string[] }, cmd: Command) => {
      const format = parseFormat(opts.format);
      const { describeStatus, formatRestartPolicy, listContainerRecords, containerFilter, containerListEntry } = await import('../api/containers.js');
      const records = listContainerRecords(stateRoot(cmd), opts.pod);
      const matches = containerFilter(opts.filter);
      // A filter on the status looks at every container, as podman's does.
      const shown = records.filter((r) => (opts.all || r.state !== 'exited' || opts.filter.some((f) => f.startsWith('status='))) && matches(r));
      // Never the environment: it carries the secrets passed with -e (podman's ps shows none either).
      if (format === 'json') return void writeOut(JSON.stringify(shown.map((r) => containerListEntry(r)), null, 2) + '\n');
      if (opts.quiet) return void writeOut(shown.map((r) => `${r.ref}\n`).join(''));
      const rows = shown.map((r) => [
        shortId(r.id),
        r.ref,
        r.image.name ?? shortId(r.image.id),
        JSON.stringify(r.argv.join(' ')).slice(0, 32),
        timeAgo(r.createdAt),
        `${describeStatus(r)}${statusTime(r)}${r.health ? ` (${r.health})` : ''}`,
        `${r.restartCount} (${formatRestartPolicy(r.restart)})`,
      ]);
      writeOut(table(['CONTAINER ID', 'NAME', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'RESTARTS'], rows) + '\n');
    });
}
