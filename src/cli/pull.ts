// `nsbox pull [--platform OS/ARCH] [--tls-verify=false] [--cert-dir DIR] REF`
import type { Command } from 'commander';
import type { PullProgress } from '../api/images.js';
import { dataRoot } from './context.js';
import { parseTlsVerify } from './registry-flags.js';
import { writeErr, writeOut } from './output.js';

/** Prints pull progress: one line per layer, redrawn in place on a terminal; a line per finished layer otherwise. */
export function pullPrinter(stream: NodeJS.WriteStream = process.stderr): { onProgress: (p: PullProgress) => void; finish: () => void } {
  const tty = stream.isTTY === true;
  const lines: string[] = [];
  let drawn = 0;
  const redraw = () => {
    if (drawn) stream.write(`\x1b[${drawn}A`);
    for (const l of lines) stream.write(`\r\x1b[K${l}\n`);
    drawn = lines.length;
  };
  return {
    onProgress: (p) => {
      if (p.phase !== 'layer') return;
      if (!tty) {
        if (p.state !== 'fetching') stream.write(p.message + '\n');
        return;
      }
      lines[(p.layer ?? 1) - 1] = p.message;
      for (let i = 0; i < lines.length; i++) lines[i] ??= '';
      redraw();
    },
    finish: () => {},
  };
}

export function registerPull(program: Command): void {
  program
    .command('pull')
    .description('pull an image from a registry (short names are on docker.io: busybox is docker.io/library/busybox)')
    .argument('<ref>', '[REGISTRY/]NAME[:TAG][@sha256:DIGEST]')
    .option('--platform <os/arch>', 'the platform to choose from a multi-platform image (default: this machine)')
    .option('--tls-verify <bool>', 'verify TLS certificates; false also allows plain HTTP', 'true')
    .option('--cert-dir <dir>', 'trust the CA certificates (*.crt) in DIR for this registry')
    .option('-q, --quiet', 'print only the image id')
    .action(async (ref: string, opts: { platform?: string; tlsVerify: string; certDir?: string; quiet?: boolean }, cmd: Command) => {
      const { pullImage } = await import('../api/images.js');
      const printer = pullPrinter();
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const r = await pullImage(ref, {
          root: dataRoot(cmd),
          platform: opts.platform,
          tlsVerify: parseTlsVerify(opts.tlsVerify),
          certDir: opts.certDir,
          signal: ac.signal,
          onProgress: opts.quiet ? undefined : printer.onProgress,
        });
        if (!opts.quiet) writeErr(r.summary + '\n');
        writeOut(r.image.id + '\n');
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}

export function registerPush(program: Command): void {
  program
    .command('push')
    .description('push a stored image to a registry (DEST defaults to the image name)')
    .argument('<image>', 'image name, id or id prefix')
    .argument('[dest]', 'REGISTRY/NAME:TAG')
    .option('--tls-verify <bool>', 'verify TLS certificates; false also allows plain HTTP', 'true')
    .option('--cert-dir <dir>', 'trust the CA certificates (*.crt) in DIR for this registry')
    .option('-q, --quiet', 'print only the manifest digest')
    .action(async (ref: string, dest: string | undefined, opts: { tlsVerify: string; certDir?: string; quiet?: boolean }, cmd: Command) => {
      const { pushImage } = await import('../api/images.js');
      const r = await pushImage(ref, dest, {
        root: dataRoot(cmd),
        tlsVerify: parseTlsVerify(opts.tlsVerify),
        certDir: opts.certDir,
        onProgress: opts.quiet ? undefined : (line) => writeErr(line + '\n'),
      });
      if (!opts.quiet) writeErr(r.summary + '\n');
      writeOut(r.digest + '\n');
    });
}
