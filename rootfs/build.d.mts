// Types for rootfs/build.mjs (the rootfs recipe builder).

export declare const BUILDER_VERSION: string;
/** The directory holding the recipes (rootfs/). */
export declare const RECIPES_DIR: string;

export declare class RootfsError extends Error {
  /** 'EROOTFS' | 'ENOTOOL' | 'ENOSUBID' | 'ABORTED' */
  code: string;
  /** Last lines of a failed command's output. */
  details: string[];
}

export interface BuildRootfsOptions {
  /** Default: $XDG_CACHE_HOME/nsbox/rootfs or ~/.cache/nsbox/rootfs. */
  cacheDir?: string;
  /** Rebuild even when the cached tarball exists. */
  force?: boolean;
  /** Where recipes live (default RECIPES_DIR). */
  recipesDir?: string;
  /** Also copy the tarball to this file (atomically); the result's path is then this file. */
  out?: string;
  /** Progress lines (default: to stderr); false for none. */
  log?: ((line: string) => void) | false;
  /** Aborting stops the recipe's processes and removes every temp file. */
  signal?: AbortSignal;
  /** As root, apt-get install missing tools (default true). */
  install?: boolean;
  /** mmdebstrap --mode for recipes that use it (default: unshare, or root when user namespaces fail as root). */
  mmdebstrapMode?: string;
}

export interface BuildRootfsResult {
  name: string;
  /** The tarball to use: the cached file, or `out` when given. */
  path: string;
  /** The cached file: <cacheDir>/<name>-<hash16>.tar */
  cachePath: string;
  /** sha256 of the recipe (64 hex). */
  hash: string;
  /** True when the cache had it. */
  cached: boolean;
  bytes: number;
  seconds: number;
}

export declare function buildRootfs(name: string, opts?: BuildRootfsOptions): Promise<string>;
export declare function buildRootfsDetails(name: string, opts?: BuildRootfsOptions): Promise<BuildRootfsResult>;
export declare function defaultCacheDir(env?: NodeJS.ProcessEnv): string;
export declare function listRecipes(recipesDir?: string): string[];
export declare function recipeHash(name: string, opts?: { recipesDir?: string }): { hash: string; short: string };
export declare function cachedTarballPath(name: string, opts?: { recipesDir?: string; cacheDir?: string }): string;
export declare function verifyTarball(
  file: string,
  expect?: { paths?: string[]; users?: string[]; groups?: string[]; rootOwned?: boolean },
  name?: string,
): Promise<{ entries: number }>;
export declare function requireTools(requirements: { cmd: string; pkg: string }[], opts?: { install?: boolean; log?: (line: string) => void }): Promise<string[]>;
export declare function pickMmdebstrapMode(requested?: string): string;
export declare function checkSubids(): void;
