import type { Command } from 'commander';
import { parseFormat } from './format.js';

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('check whether this machine can run rootless pods, and how to fix it if not')
    .option('--format <format>', 'table or json', 'table')
    .action(async (opts: { format?: string }) => {
      const format = parseFormat(opts.format);
      // Loaded on demand: the other verbs should not pay for it.
      const { formatCheckReport, runChecks } = await import('../check/check.js');
      const report = await runChecks();
      process.stdout.write(format === 'json' ? JSON.stringify(report, null, 2) + '\n' : formatCheckReport(report) + '\n');
      if (!report.ok) process.exitCode = 1;
    });
}
