// What every verb needs from the global options.
import type { Command } from 'commander';
import { defaultDataRoot, defaultRuntimeRoot } from '../state/paths.js';

export interface GlobalOptions {
  root?: string;
  debug?: boolean;
}

export function stateRoot(cmd: Command): string {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  return g.root ?? defaultRuntimeRoot();
}

/** Where images live: --root when given, else the data directory. */
export function dataRoot(cmd: Command): string {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  return g.root ?? defaultDataRoot();
}
