// `nsbox volume create|ls|inspect|rm|prune|exists`: named volumes, as podman's.
import type { Command } from 'commander';
import { NsboxError } from '../errors.js';
import { dataRoot, stateRoot } from './context.js';
import { forEachRef } from './each-ref.js';
import { parseFormat, table } from './format.js';
import { writeOut } from './output.js';

const collect = (v: string, all: string[]) => [...all, v];
const volumeRoots = (cmd: Command) => ({ root: dataRoot(cmd), stateRoot: stateRoot(cmd) });

async function printFormatted(values: unknown[], format: string | undefined): Promise<void> {
  if (!format || format === 'json') return void writeOut(JSON.stringify(values, null, 2) + '\n');
  const { renderTemplate, TemplateError } = await import('../api/template.js');
  try {
    writeOut(values.map((v) => renderTemplate(format, v) + '\n').join(''));
  } catch (err) {
    if (err instanceof TemplateError) throw new NsboxError('INVALID_ARGUMENT', `--format ${JSON.stringify(format)}: ${err.message}`, "use fields such as '{{.Mountpoint}}' or '{{json .Labels}}'");
    throw err;
  }
}

export function registerVolume(program: Command): void {
  const volume = program.command('volume').description('manage named volumes: directories that outlive containers and can be shared');

  volume
    .command('create')
    .description('create a volume (a random name when none is given)')
    .argument('[name]')
    .option('-l, --label <KEY=VALUE>', 'set a label (repeatable)', collect, [])
    .option('--ignore', 'succeed when the volume exists already')
    .action(async (name: string | undefined, opts: { label: string[]; ignore?: boolean }, cmd: Command) => {
      const { createVolume } = await import('../api/volumes.js');
      const v = await createVolume(name, { ...volumeRoots(cmd), labels: opts.label, ignoreExisting: opts.ignore });
      writeOut(v.Name + '\n');
    });

  volume
    .command('ls')
    .alias('list')
    .description('list volumes')
    .option('--format <format>', 'table or json', 'table')
    .option('-q, --quiet', 'print only the names')
    .option('-f, --filter <KEY=VALUE>', 'name=TEXT or label=KEY[=VALUE] (repeatable)', collect, [])
    .action(async (opts: { format?: string; quiet?: boolean; filter: string[] }, cmd: Command) => {
      const format = parseFormat(opts.format);
      const { listVolumes } = await import('../api/volumes.js');
      const volumes = listVolumes({ ...volumeRoots(cmd), filters: opts.filter });
      if (format === 'json') return void writeOut(JSON.stringify(volumes, null, 2) + '\n');
      if (opts.quiet) return void writeOut(volumes.map((v) => v.Name + '\n').join(''));
      writeOut(table(['DRIVER', 'VOLUME NAME'], volumes.map((v) => [v.Driver, v.Name])) + '\n');
    });

  volume
    .command('inspect')
    .description('show volumes as JSON (podman\'s fields), or through --format')
    .option('-f, --format <template>', "json (default), or a template such as '{{.Mountpoint}}'")
    .argument('<name...>')
    .action(async (names: string[], opts: { format?: string }, cmd: Command) => {
      const { inspectVolume } = await import('../api/volumes.js');
      await printFormatted(names.map((n) => inspectVolume(n, volumeRoots(cmd))), opts.format);
    });

  volume
    .command('exists')
    .description('exit 0 if the volume exists, 1 if not (podman volume exists)')
    .argument('<name>')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { volumeExists } = await import('../api/volumes.js');
      if (!volumeExists(name, volumeRoots(cmd))) process.exitCode = 1;
    });

  volume
    .command('rm')
    .alias('remove')
    .description('remove volumes and their contents (-f: also the containers that use them)')
    .option('-f, --force', 'remove the containers using the volume too')
    .argument('<name...>')
    .action(async (names: string[], opts: { force?: boolean }, cmd: Command) => {
      const { removeVolume } = await import('../api/volumes.js');
      await forEachRef(names, async (name) => {
        await removeVolume(name, { ...volumeRoots(cmd), force: opts.force });
        writeOut(name + '\n');
      });
    });

  volume
    .command('prune')
    .description('remove every volume that no container uses')
    .option('-f, --force', 'do not ask (nsbox never asks; accepted for podman\'s scripts)')
    .option('--filter <KEY=VALUE>', 'name=TEXT or label=KEY[=VALUE] (repeatable)', collect, [])
    .action(async (opts: { filter: string[] }, cmd: Command) => {
      const { pruneVolumes } = await import('../api/volumes.js');
      const removed = await pruneVolumes({ ...volumeRoots(cmd), filters: opts.filter });
      writeOut(removed.map((n) => n + '\n').join(''));
    });

  for (const c of [volume, ...volume.commands]) c.exitOverride();
}
