// `nsbox kube play|down|generate`: Kubernetes YAML in and out (api/kube.ts).
import type { Command } from 'commander';
import { dataRoot, stateRoot } from './context.js';
import { collect, parseSeconds } from './parse.js';
import { writeErr, writeOut } from './output.js';

export function registerKube(program: Command): void {
  const kube = program.command('kube').description('run Kubernetes YAML (Pod, Deployment, ConfigMap, Secret, PersistentVolumeClaim) as pods, and write it');

  kube
    .command('play')
    .description('create the pods, volumes and containers of a Kubernetes YAML file (- for stdin)')
    .argument('<file...>')
    .option('--replace', 'remove pods of the same names first')
    .option('--wait', 'return once every container is ready (its readiness probe passes, or it runs)')
    .option('--timeout <seconds>', 'with --wait: how long to wait (default 120)')
    .option('-p, --publish <[ip:]hostport:ctrport[/udp]>', 'publish a port as well as the hostPorts (repeatable)', collect, [])
    .option('--configmap <file>', 'a YAML file of ConfigMaps (or Secrets) the manifest refers to (repeatable)', collect, [])
    .option('--network <mode|name>', "the pods' network: builtin, pasta, none, or a user network (nsbox network create) they join (repeatable)", collect, [])
    .action(async (files: string[], opts: { replace?: boolean; wait?: boolean; timeout?: string; publish: string[]; configmap: string[]; network: string[] }, cmd: Command) => {
      const { playKube, readKubeSource } = await import('../api/kube.js');
      const r = await playKube({
        root: stateRoot(cmd),
        dataRoot: dataRoot(cmd),
        files: files.map(readKubeSource),
        configMaps: opts.configmap.map(readKubeSource),
        replace: !!opts.replace,
        wait: !!opts.wait,
        ...(opts.timeout !== undefined ? { waitTimeoutMs: parseSeconds(opts.timeout, '--timeout') * 1000 } : {}),
        publish: opts.publish,
        networks: opts.network,
        onProgress: (line) => writeErr(`${line}\n`),
      });
      for (const v of r.volumes) writeOut(`Volume: ${v}\n`);
      for (const p of r.pods) writeOut(`Pod: ${p.name} ${p.id}\n${p.containers.map((c) => `Container: ${p.name}/${c}\n`).join('')}`);
    });

  kube
    .command('down')
    .description('remove the pods a Kubernetes YAML file made (its volumes too with --force)')
    .argument('<file...>')
    .option('--force', 'also remove the named volumes of its PersistentVolumeClaims')
    .action(async (files: string[], opts: { force?: boolean }, cmd: Command) => {
      const { downKube, readKubeSource } = await import('../api/kube.js');
      const r = await downKube({ root: stateRoot(cmd), dataRoot: dataRoot(cmd), files: files.map(readKubeSource), force: !!opts.force });
      writeOut(r.pods.map((p) => `Pod: ${p}\n`).join('') + r.volumes.map((v) => `Volume: ${v}\n`).join(''));
    });

  kube
    .command('generate')
    .description('write Kubernetes YAML of a pod, running or stopped (named volumes as PersistentVolumeClaims)')
    .argument('<pod>')
    .option('--type <type>', 'pod or deployment', 'pod')
    .option('--service', 'add a NodePort Service of its published ports')
    .option('-f, --filename <file>', 'write it to FILE instead of stdout')
    .action(async (pod: string, opts: { type: string; service?: boolean; filename?: string }, cmd: Command) => {
      const { generateKube } = await import('../api/kube.js');
      const yaml = await generateKube(pod, { root: stateRoot(cmd), dataRoot: dataRoot(cmd), type: opts.type as 'pod', service: !!opts.service });
      if (opts.filename) {
        const { writeFileSync } = await import('node:fs');
        writeFileSync(opts.filename, yaml);
      } else writeOut(yaml);
    });
}
