import type { Command } from 'commander';
import { dataRoot } from './context.js';
import { writeErr, writeOut } from './output.js';

export function registerImageImport(image: Command): void {
  image
    .command('import')
    .description('import a rootfs tarball (.tar, .tar.gz), a docker save archive or an OCI layout (directory or tar); prints the image id')
    .argument('<file>', 'the archive or OCI layout directory')
    .option('--name <name>', 'NAME[:TAG] for the image (default: the names in the archive)')
    .option('-c, --change <instruction>', 'a Dockerfile instruction for a rootfs tarball\'s config: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, WORKDIR (repeatable)', (v: string, all: string[] = []) => [...all, v])
    .action(async (file: string, opts: { name?: string; change?: string[] }, cmd: Command) => {
      const { importImages } = await (await import('../api/images.js')).imageVerbs();
      const tty = process.stderr.isTTY === true;
      let shown = false;
      const clear = () => {
        if (shown) writeErr('\r\x1b[K');
        shown = false;
      };
      try {
        const result = await importImages(file, {
          root: dataRoot(cmd),
          name: opts.name,
          changes: opts.change,
          onProgress: (p) => {
            if (!tty || p.phase !== 'extracting') return;
            writeErr(`\r\x1b[K${p.message}`);
            shown = true;
          },
        });
        clear();
        for (const w of result.warnings) writeErr(`nsbox: warning: ${w}\n`);
        writeOut(result.images.map((i) => i.id + '\n').join(''));
        writeErr(result.summary + '\n');
      } finally {
        clear();
      }
    });
}
