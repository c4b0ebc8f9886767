// `nsbox cp SRC POD/NAME:DST` and `nsbox cp POD/NAME:SRC DST`, docker's verb:
// files, directories (DIR/. for the contents), or `-` for a tar stream on
// stdin or stdout; running or stopped containers.
import type { Command } from 'commander';
import { NsboxError } from '../errors.js';
import { dataRoot, stateRoot } from './context.js';

export function registerCp(program: Command): void {
  program
    .command('cp')
    .description('copy files between a container and the host (- is a tar stream on stdin/stdout)')
    .option('-a, --archive', "keep the files' uid/gid (default: they belong to the container's root)")
    .argument('<src>', 'HOST_PATH, -, or CONTAINER:PATH')
    .argument('<dst>', 'HOST_PATH, -, or CONTAINER:PATH')
    .action(async (srcArg: string, dstArg: string, opts: { archive?: boolean }, cmd: Command) => {
      const { parseCopyArg, copyToContainer, copyFromContainer } = await import('../api/copy.js');
      const { getContainer } = await import('../api/containers.js');
      const src = parseCopyArg(srcArg);
      const dst = parseCopyArg(dstArg);
      const handle = (ref: string) => {
        const c = getContainer(ref, { root: stateRoot(cmd) });
        c.pod.dataRoot = dataRoot(cmd);
        return c;
      };
      if (src.kind === 'container' && dst.kind === 'container') throw new NsboxError('INVALID_ARGUMENT', 'copying between two containers is not supported', 'copy to the host first, then into the other container');
      if (dst.kind === 'container') {
        if (src.kind === 'container') return;
        await copyToContainer(handle(dst.ref), src.kind === 'stdio' ? { tar: process.stdin } : src.path, dst.path, { archive: opts.archive });
        return;
      }
      if (src.kind !== 'container') throw new NsboxError('INVALID_ARGUMENT', `neither ${JSON.stringify(srcArg)} nor ${JSON.stringify(dstArg)} names a container`, 'write one side as CONTAINER:PATH (POD/NAME:PATH, or NAME:PATH for a container in a pod of its own)');
      await copyFromContainer(handle(src.ref), src.path, dst.kind === 'stdio' ? { tar: process.stdout } : dst.path);
    });
}
