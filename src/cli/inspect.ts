// `nsbox inspect REF...`: a container (POD/NAME, or NAME in a pod of its
// own), else a pod, else an image, as JSON in podman's shape, or through
// --format '{{.State.Status}}'.
import type { Command } from 'commander';
import { NsboxError } from '../errors.js';
import { dataRoot, stateRoot } from './context.js';
import { writeOut } from './output.js';

async function inspectOne(ref: string, root: string, images: string): Promise<unknown> {
  const { getContainer, containerInspection } = await import('../api/containers.js');
  const { inspectPod } = await import('../api/pods.js');
  const missing = (err: unknown, code: string) => err instanceof NsboxError && err.code === code;
  try {
    return containerInspection(getContainer(ref, { root }));
  } catch (err) {
    if (!missing(err, 'NO_SUCH_CONTAINER') && !missing(err, 'NO_SUCH_POD') && !missing(err, 'INVALID_ARGUMENT')) throw err;
  }
  if (!ref.includes('/')) {
    try {
      return inspectPod(ref, { root });
    } catch (err) {
      if (!missing(err, 'NO_SUCH_POD')) throw err;
    }
  }
  const { imageVerbs } = await import('../api/images.js');
  try {
    return (await imageVerbs()).inspectImage(ref, { root: images });
  } catch (err) {
    if (!(err instanceof NsboxError)) throw err;
  }
  throw new NsboxError('NO_SUCH_OBJECT', `no such container, pod or image: ${ref}`, 'list them with `nsbox ps -a`, `nsbox pod ls` and `nsbox image ls`');
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('show containers, pods or images as JSON (podman\'s shape for containers)')
    .option('-f, --format <template>', "json (default), or a template such as '{{.State.Status}}'")
    .argument('<ref...>', 'POD/NAME, NAME (a container in a pod of its own), a pod, or an image')
    .action(async (refs: string[], opts: { format?: string }, cmd: Command) => {
      const { renderTemplate, TemplateError } = await import('../api/template.js');
      const out = [];
      for (const ref of refs) out.push(await inspectOne(ref, stateRoot(cmd), dataRoot(cmd)));
      if (!opts.format || opts.format === 'json') return void writeOut(JSON.stringify(out, null, 2) + '\n');
      try {
        writeOut(out.map((o) => renderTemplate(opts.format!, o) + '\n').join(''));
      } catch (err) {
        if (err instanceof TemplateError) throw new NsboxError('INVALID_ARGUMENT', `--format ${JSON.stringify(opts.format)}: ${err.message}`, "use fields such as '{{.State.Status}}' or '{{json .Config.Labels}}'");
        throw err;
      }
    });
}
