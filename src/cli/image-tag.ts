// `nsbox image tag IMAGE NAME...` and `nsbox image load -i FILE` (import, as docker load spells it).
import type { Command } from 'commander';
import { dataRoot } from './context.js';
import { writeErr, writeOut } from './output.js';

export function registerImageTag(image: Command): void {
  image
    .command('tag')
    .description('give a stored image more names')
    .argument('<image>', 'image name, id or id prefix')
    .argument('<name...>', 'NAME[:TAG] to add')
    .action(async (ref: string, names: string[], _opts: unknown, cmd: Command) => {
      const { tagImage } = await import('../api/images.js');
      await tagImage(ref, names, { root: dataRoot(cmd) });
    });
}

export function registerImageLoad(image: Command): void {
  image
    .command('load')
    .description('load images from a docker save / docker-archive / oci-archive file or an OCI layout (nsbox image import)')
    .requiredOption('-i, --input <file>', 'the archive or OCI layout directory')
    .action(async (opts: { input: string }, cmd: Command) => {
      const { importImages } = await (await import('../api/images.js')).imageVerbs();
      const result = await importImages(opts.input, { root: dataRoot(cmd) });
      for (const w of result.warnings) writeErr(`nsbox: warning: ${w}\n`);
      for (const img of result.images) writeOut(img.names.length ? img.names.map((n) => `Loaded image: ${n}\n`).join('') : `Loaded image: sha256:${img.id}\n`);
      writeErr(result.summary + '\n');
    });
}

export function registerImageSave(image: Command): void {
  image
    .command('save')
    .description('write images to a file (docker-archive, oci-archive) or an OCI layout directory (oci-dir), with their own ids and digests')
    .requiredOption('-o, --output <path>', 'the file (or directory, for oci-dir) to write')
    .option('--format <format>', 'docker-archive, oci-archive or oci-dir', 'docker-archive')
    .argument('<image...>', 'image names, ids or id prefixes')
    .action(async (refs: string[], opts: { output: string; format: string }, cmd: Command) => {
      const { saveImages } = await import('../api/images.js');
      await saveImages(refs, { root: dataRoot(cmd), output: opts.output, format: opts.format as 'docker-archive' });
    });
}
