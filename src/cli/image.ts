// `nsbox image ...`: the image store's verbs.
import type { Command } from 'commander';
import { registerImageImport } from './image-import.js';
import { registerImageInspect } from './image-inspect.js';
import { registerImageLs } from './image-ls.js';
import { registerImageRm } from './image-rm.js';

export function registerImage(program: Command): void {
  const image = program.command('image').description('manage images: import rootfs tarballs, docker save archives and OCI layouts');
  registerImageImport(image);
  registerImageLs(image);
  registerImageInspect(image);
  registerImageRm(image);
  for (const c of [image, ...image.commands]) c.exitOverride();
}
