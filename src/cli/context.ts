// What every verb needs from the global options.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { defaultDataRoot, defaultRuntimeRoot } from '../api/roots.js';

export interface GlobalOptions {
  root?: string;
  debug?: boolean;
}

/** Absolute: the keeper works from /, so a relative --root would name another directory there. */
export function stateRoot(cmd: Command): string {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  return resolve(g.root ?? defaultRuntimeRoot());
}

/** Where images live: --root when given, else the data directory. */
export function dataRoot(cmd: Command): string {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  return resolve(g.root ?? defaultDataRoot());
}
