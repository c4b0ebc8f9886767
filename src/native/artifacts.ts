// Where the build put the native shims (scripts/build.mjs).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NsboxError } from '../errors.js';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const buildDir = join(packageRoot, 'native-shims', 'build');

export const artifacts = {
  packageRoot,
  shimLibrary: join(buildDir, 'libnsbox-shim.so'),
  pause: join(buildDir, 'pause'),
  probe: join(buildDir, 'nsbox-probe'),
  cli: join(packageRoot, 'dist', 'cli', 'nsbox.mjs'),
  supervisor: join(packageRoot, 'dist', 'supervisor', 'nsbox-supervisor.mjs'),
  forwarder: join(buildDir, 'nsbox-forward'),
};

export function requireArtifact(path: string): string {
  if (!existsSync(path)) {
    throw new NsboxError('NATIVE_MISSING', `native shim ${path} is missing`, 'run `npm run build` (needs gcc)');
  }
  return path;
}
