import type { Command } from 'commander';
import { parseFormat } from './format.js';
import { writeOut } from './output.js';

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('check whether this machine can run rootless pods, and how to fix it if not')
    .option('--format <format>', 'table or json', 'table')
    .action(async (opts: { format?: string }) => {
      const format = parseFormat(opts.format);
      const { formatCheckReport, runChecks } = await import('../api/check.js');
      const report = await runChecks();
      writeOut(format === 'json' ? JSON.stringify(report, null, 2) + '\n' : (await formatCheckReport(report)) + '\n');
      if (!report.ok) process.exitCode = 1;
    });
}
