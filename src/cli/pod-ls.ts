import type { Command } from 'commander';
import { parseFormat, shortId, table, timeAgo } from './format.js';
import { stateRoot } from './context.js';
import { collect } from './parse.js';
import { writeOut } from './output.js';

export function registerPodLs(pod: Command): void {
  pod
    .command('ls')
    .alias('ps')
    .alias('list')
    .description('list pods')
    .option('--format <format>', 'table or json', 'table')
    .option('-q, --quiet', 'print only pod ids')
    .option('-f, --filter <KEY=VALUE>', 'only pods with label=KEY[=VALUE], name=TEXT or status=STATE (repeatable)', collect, [])
    .action(async (opts: { format?: string; quiet?: boolean; filter: string[] }, cmd: Command) => {
      const format = parseFormat(opts.format);
      const { listPods, podListEntry } = await import('../api/pods.js');
      const pods = listPods({ root: stateRoot(cmd), filters: opts.filter });
      if (format === 'json') return void writeOut(JSON.stringify(pods.map(podListEntry), null, 2) + '\n');
      if (opts.quiet) return void writeOut(pods.map((p) => p.id + '\n').join(''));
      const rows = pods.map((p) => [shortId(p.id), p.name, p.error ? `${p.status} (${p.error})` : p.status, timeAgo(p.createdAt), String(p.pausePid), String(p.containers), p.supervisor, p.ports.join(', ')]);
      writeOut(table(['POD ID', 'NAME', 'STATUS', 'CREATED', 'PAUSE PID', '# OF CONTAINERS', 'SUPERVISOR', 'PORTS'], rows) + '\n');
    });
}
