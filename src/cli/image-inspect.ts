import type { Command } from 'commander';
import { dataRoot } from './context.js';
import { writeOut } from './output.js';

export function registerImageInspect(image: Command): void {
  image
    .command('inspect')
    .description('show images as JSON')
    .argument('<image...>', 'image names (NAME[:TAG]), ids or id prefixes')
    .action(async (refs: string[], _opts: unknown, cmd: Command) => {
      const { inspectImage } = await (await import('../api/images.js')).imageVerbs();
      const root = dataRoot(cmd);
      const out = refs.map((ref) => inspectImage(ref, { root }));
      writeOut(JSON.stringify(refs.length === 1 ? out[0] : out, null, 2) + '\n');
    });
}
