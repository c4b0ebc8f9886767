// --env-file: KEY=VALUE lines; blank lines and # comments are skipped; a bare
// KEY takes its value from this environment (as docker does).
import { readFileSync } from 'node:fs';
import { NsboxError } from '../errors.js';
import { parseEnvOption } from './parse.js';

export function readEnvFiles(files: string[]): string[] {
  const out: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new NsboxError('INVALID_ARGUMENT', `cannot read env file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'check the path given to --env-file');
    }
    const lines = text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() && !l.trimStart().startsWith('#'));
    out.push(...parseEnvOption(lines));
  }
  return out;
}
