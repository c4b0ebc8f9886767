import type { Command } from 'commander';
import { dataRoot } from './context.js';
import { parseFormat, shortId, table, timeAgo } from './format.js';
import { writeOut } from './output.js';

export function registerImageLs(image: Command): void {
  image
    .command('ls')
    .alias('list')
    .description('list images')
    .option('--format <format>', 'table or json', 'table')
    .option('-q, --quiet', 'print only image ids')
    .action(async (opts: { format?: string; quiet?: boolean }, cmd: Command) => {
      const format = parseFormat(opts.format);
      const { listImages, splitImageName, formatSize } = await (await import('../api/images.js')).imageVerbs();
      const images = listImages({ root: dataRoot(cmd) });
      if (format === 'json') return void writeOut(JSON.stringify(images, null, 2) + '\n');
      if (opts.quiet) return void writeOut(images.map((i) => shortId(i.id) + '\n').join(''));
      const rows = images.flatMap((i) => {
        const names = i.names.length ? i.names.map(splitImageName) : [{ repository: '<none>', tag: '<none>' }];
        return names.map((n) => [n.repository, n.tag, shortId(i.id), timeAgo(i.createdAt), formatSize(i.size)]);
      });
      writeOut(table(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], rows) + '\n');
    });
}
