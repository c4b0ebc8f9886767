// The usual fixture of a test file: a private state root with the busybox
// image imported and one pod created, removed with everything in it after.
import { expect } from 'vitest';
import { cleanupRoot, tempRoot } from './env.js';
import { importImage } from './images.js';
import { nsbox, removeAllPods } from './nsbox.js';

/** A private root with the busybox image and, when named, one pod. */
export function setUpPodRoot(pod?: string): string {
  const root = tempRoot();
  importImage(root, 'busybox');
  if (pod === undefined) return root;
  const r = nsbox(root, ['pod', 'create', '--name', pod]);
  expect(r.code, r.stderr).toBe(0);
  return root;
}

export function tearDownPodRoot(root: string | undefined): void {
  if (!root) return;
  removeAllPods(root);
  cleanupRoot(root);
}
