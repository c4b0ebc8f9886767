// A host-side canary for escape tests: a private (0600) file with unique
// content in a host directory the test made, where a container that
// escapes would read, change or add files. Its content is a passwd line, so
// a lookup that reads it by mistake also shows up as a uid (CANARY_UID).
import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

/** The uid and gid of the canary's passwd line: seen anywhere, the canary was read. */
export const CANARY_UID = 31337;

export interface HostCanary {
  /** The host directory holding the canary (and the empty targets tests point images at). */
  dir: string;
  /** The private file itself. */
  file: string;
  /** A token that appears only in the canary files. */
  token: string;
  /** The listing of `dir` when it was planted, as listTree() gives it. */
  planted: string[];
  /** The canary files' contents when planted. */
  contents: Record<string, string>;
}

const CANARY_FILES = ['private-file', 'etc/passwd', 'etc/group'];

/** Every path under `dir` with its type and mode, e.g. "f 600 private-file", "d 755 etc-target". */
export function listTree(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const path = rel ? `${rel}/${name}` : name;
    const st = lstatSync(join(dir, path));
    const kind = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : 'f';
    out.push(`${kind} ${(st.mode & 0o7777).toString(8)} ${path}`);
    if (st.isDirectory()) out.push(...listTree(dir, path));
  }
  return out;
}

/**
 * Plants a fresh `<parent>/host-side-XXXXXX/private-file` (and an `etc`
 * with `passwd` and `group` canaries, for user lookups), plus the empty
 * directories named in `emptyDirs`, which tests use as targets that must
 * stay empty. One per test: a canary an earlier test damaged proves nothing.
 */
export function plantCanary(parent: string, emptyDirs: string[] = []): HostCanary {
  const token = `nsbox-canary-${randomBytes(8).toString('hex')}`;
  const dir = mkdtempSync(join(parent, 'host-side-'));
  chmodSync(dir, 0o755);
  const file = join(dir, 'private-file');
  const write = (path: string, text: string) => {
    writeFileSync(path, text, { mode: 0o600 });
    chmodSync(path, 0o600);
  };
  write(file, `somename:x:${CANARY_UID}:${CANARY_UID}:${token}:/:/bin/sh\n`);
  for (const d of emptyDirs) mkdirSync(join(dir, d), { recursive: true, mode: 0o755 });
  // A host "etc" with a passwd and a group file, for images whose etc points here.
  mkdirSync(join(dir, 'etc'), { mode: 0o755 });
  write(join(dir, 'etc', 'passwd'), `somename:x:${CANARY_UID}:${CANARY_UID}:${token}:/:/bin/sh\n`);
  write(join(dir, 'etc', 'group'), `somegroup:x:${CANARY_UID}:${token}\n`);
  return { dir, file, token, planted: listTree(dir), contents: contentsOf(dir) };
}

function contentsOf(dir: string): Record<string, string> {
  return Object.fromEntries(CANARY_FILES.map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

/**
 * The canary stayed unread and unwritten: its token is in none of `outputs`,
 * and no file changed, appeared or went away under its directory.
 */
export function expectCanaryIntact(c: HostCanary, ...outputs: string[]): void {
  for (const o of outputs) expect(o, 'the canary was read').not.toContain(c.token);
  const now = listTree(c.dir);
  expect(now.filter((l) => !c.planted.includes(l)), `files that appeared or changed under ${c.dir}`).toEqual([]);
  expect(c.planted.filter((l) => !now.includes(l)), `files that went away or changed under ${c.dir}`).toEqual([]);
  expect(contentsOf(c.dir), 'a canary file was modified').toEqual(c.contents);
}
