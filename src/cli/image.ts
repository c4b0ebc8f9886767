// `nsbox image ...`: the image store's verbs.
import type { Command } from 'commander';
import { registerImageImport } from './image-import.js';
import { registerImageInspect } from './image-inspect.js';
import { registerImageLs } from './image-ls.js';
import { registerImageRm } from './image-rm.js';
import { registerImageLoad, registerImageSave, registerImageTag } from './image-tag.js';

export function registerImage(program: Command): void {
  const image = program.command('image').description('manage images: import rootfs tarballs, docker save archives and OCI layouts');
  registerImageImport(image);
  registerImageLs(image);
  registerImageInspect(image);
  registerImageRm(image);
  registerImageTag(image);
  registerImageLoad(image);
  registerImageSave(image);
  for (const c of [image, ...image.commands]) c.exitOverride();
}
