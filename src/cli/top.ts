// `nsbox top CONTAINER` and `nsbox stats [CONTAINER...]`, podman's verbs, from /proc.
import type { Command } from 'commander';
import { stateRoot } from './context.js';
import { parseFormat, table } from './format.js';
import { writeOut } from './output.js';

function size(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) (v /= 1000), u++;
  return `${v < 10 && u ? v.toFixed(2) : v < 100 && u ? v.toFixed(1) : Math.round(v)}${units[u]}`;
}

export function registerTop(program: Command): void {
  program
    .command('top')
    .description("show a running container's processes (pids as the pod sees them)")
    .argument('<container>', 'POD/NAME, or NAME')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const { getContainer } = await import('../api/containers.js');
      const { containerTop } = await import('../api/top.js');
      const rows = containerTop(getContainer(ref, { root: stateRoot(cmd) }));
      const headers = ['USER', 'PID', 'PPID', '%CPU', 'ELAPSED', 'TTY', 'TIME', 'COMMAND'] as const;
      writeOut(table([...headers], rows.map((r) => headers.map((h) => String(r[h])))) + '\n');
    });

  program
    .command('stats')
    .description("what running containers use: CPU, memory (resident), processes")
    .option('--no-stream', 'print one sample and exit')
    .option('--format <format>', 'table or json', 'table')
    .option('-i, --interval <seconds>', 'time between samples when streaming', '1')
    .argument('[container...]', 'POD/NAME or NAME (default: every running container)')
    .action(async (refs: string[], opts: { stream: boolean; format?: string; interval: string }, cmd: Command) => {
      const format = parseFormat(opts.format);
      const { getContainer, listContainerRecords } = await import('../api/containers.js');
      const { containerStats } = await import('../api/top.js');
      const root = stateRoot(cmd);
      const chosen = refs.length ? refs : listContainerRecords(root).filter((r) => r.state === 'running').map((r) => r.ref);
      const containers = chosen.map((ref) => getContainer(ref, { root }));
      for (;;) {
        // Named as the user calls them (NAME alone for a container in a pod of its own).
        const stats = (await containerStats(containers)).map((s, i) => ({ ...s, Name: chosen[i]! }));
        if (format === 'json') writeOut(JSON.stringify(stats, null, 2) + '\n');
        else
          writeOut(
            table(
              ['NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'PIDS', 'AVG CPU %'],
              stats.map((s) => [s.Name, `${s.CPU.toFixed(2)}%`, `${size(s.MemUsage)} / ${size(s.MemLimit)}`, `${s.MemPerc.toFixed(2)}%`, String(s.PIDs), `${s.AvgCPU.toFixed(2)}%`]),
            ) + '\n',
          );
        if (!opts.stream) return;
        await new Promise((r) => setTimeout(r, Math.max(0.2, Number(opts.interval) || 1) * 1000));
      }
    });
}
