// /etc/subuid and /etc/subgid: "user:start:count" (user may be a name or a uid).
import { readFileSync } from 'node:fs';

export interface IdRange {
  start: number;
  count: number;
}

export function parseSubidFile(text: string, user: string, id: number): IdRange | null {
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [owner, start, count] = line.split(':');
    if (owner !== user && owner !== String(id)) continue;
    const range = { start: Number(start), count: Number(count) };
    if (Number.isInteger(range.start) && Number.isInteger(range.count) && range.count > 0) return range;
  }
  return null;
}

export function readSubidRange(file: string, user: string, id: number): IdRange | null {
  try {
    return parseSubidFile(readFileSync(file, 'utf8'), user, id);
  } catch {
    return null;
  }
}
