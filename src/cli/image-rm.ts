import type { Command } from 'commander';
import { dataRoot } from './context.js';
import { writeOut } from './output.js';

export function registerImageRm(image: Command): void {
  image
    .command('rm')
    .alias('remove')
    .description('remove image names, and images with their unshared layers')
    .option('-f, --force', 'remove an image given by id even when it has several names')
    .argument('<image...>', 'image names (NAME[:TAG]), ids or id prefixes')
    .action(async (refs: string[], opts: { force?: boolean }, cmd: Command) => {
      const { removeImage } = await (await import('../api/images.js')).imageVerbs();
      const root = dataRoot(cmd);
      for (const ref of refs) {
        const r = await removeImage(ref, { root, force: opts.force });
        for (const n of r.untagged) writeOut(`Untagged: ${n}\n`);
        if (r.deleted) writeOut(`Deleted: ${r.deleted}\n`);
      }
    });
}
