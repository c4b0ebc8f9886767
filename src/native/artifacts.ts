// Where the build put the native shims (scripts/build-native.mjs: the
// package's install script, also run by `npm run build` in a checkout).
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
  cli: join(packageRoot, 'dist', 'cli', 'nsbox.cjs'),
  keeper: join(buildDir, 'nsbox-keeper'),
  forwarder: join(buildDir, 'nsbox-forward'),
  /** Runs one exec plan for the CLI (native-shims/exec.c). */
  execHelper: join(buildDir, 'nsbox-exec'),
  /** flock(2) as a Node-API addon, for the state lock (native-shims/flock-addon.c). */
  flockAddon: join(buildDir, 'nsbox-flock.node'),
  nativeBuildScript: join(packageRoot, 'scripts', 'build-native.mjs'),
  /** The default seccomp profile (data, written by scripts/seccomp-profile.mjs). */
  seccompDefault: join(packageRoot, 'seccomp', 'default.json'),
};

/** A checkout has the TypeScript sources; the installed package ships only dist/. */
export const isCheckout = existsSync(join(packageRoot, 'src')) && existsSync(join(packageRoot, 'tsconfig.json'));

const SYSTEM_DEPS = 'gcc and libc6-dev: sudo apt-get install gcc libc6-dev';

/**
 * How to (re)build the native shims, where nsbox is: a checkout builds with
 * `npm run build`; an installed package builds them in its install script.
 * A missing build usually means npm skipped that script (--ignore-scripts,
 * or an allowScripts policy that leaves nsbox out, which may make `npm
 * rebuild` skip it too: the script can be run by hand).
 */
export function nativeBuildFix(opts: { missing?: boolean } = {}): string {
  if (isCheckout) return `run \`npm run build\` (it needs ${SYSTEM_DEPS})`;
  const rebuild = `run \`npm rebuild nsbox\` in your project (it needs ${SYSTEM_DEPS}), or \`node ${artifacts.nativeBuildScript}\``;
  const missing = opts.missing ?? true;
  return missing ? `${rebuild}; npm skips nsbox's install script with --ignore-scripts, or when an allowScripts policy leaves nsbox out` : rebuild;
}

export function requireArtifact(path: string): string {
  if (existsSync(path)) return path;
  if (path.startsWith(buildDir + '/')) throw new NsboxError('NATIVE_MISSING', `native shim ${path} is missing`, nativeBuildFix());
  // dist/ is built before packing: an installed package that lacks it is damaged.
  const fix = isCheckout ? 'run `npm run build`' : 'reinstall nsbox (`npm install nsbox`)';
  throw new NsboxError('NATIVE_MISSING', `nsbox file ${path} is missing`, fix);
}
