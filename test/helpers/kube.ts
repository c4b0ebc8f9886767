// The kube tests' fixture: a private state root with the busybox image,
// manifests written into it, and the CLI's view of its containers.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { cleanupRoot, tempRoot } from './env.js';
import { importImage } from './images.js';
import { nsbox, removeAllPods } from './nsbox.js';

export interface KubeRoot {
  /** Set once the file's beforeAll has run. */
  readonly root: string;
  /** Writes the manifest into the root; returns its path. */
  manifest(text: string): string;
}

/** Registers the file's beforeAll and afterAll; `cleanup` runs before the root goes (volumes, networks). */
export function useKubeRoot(prefix: string, cleanup?: (root: string) => void): KubeRoot {
  let root = '';
  let n = 0;
  beforeAll(() => {
    root = tempRoot();
    importImage(root, 'busybox');
  });
  afterAll(() => {
    removeAllPods(root);
    cleanup?.(root);
    cleanupRoot(root);
  });
  return {
    get root() {
      return root;
    },
    manifest(text: string): string {
      const file = join(root, `${prefix}${++n}.yaml`);
      writeFileSync(file, text);
      return file;
    },
  };
}

/** A Pod manifest with `spec` (YAML, unindented) under its spec. */
export const podYaml = (name: string, spec: string): string => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n${spec.replace(/^/gm, '  ')}\n`;

export interface ContainerView {
  name: string;
  podName: string;
  state: string;
  exitCode: number | null;
  restartCount: number;
  startedAt: string;
  finishedAt: string | null;
}

/** POD/NAME as `nsbox ps -a` shows it, or undefined. */
export function containerView(root: string, ref: string): ContainerView | undefined {
  return (JSON.parse(nsbox(root, ['ps', '-a', '--format', 'json']).stdout) as ContainerView[]).find((c) => `${c.podName}/${c.name}` === ref);
}
