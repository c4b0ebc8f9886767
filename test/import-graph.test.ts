// The folders of src/ (and its top-level files) import each other without
// cycles, so each can be read, tested and loaded on its own. Dynamic and
// type-only imports count too: they dodge a cycle at run time, not in the
// design. Pure: reads src/ as text, needs no build.
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/env.js';

/**
 * Cycles that are being removed. Each must still be a cycle (delete its entry
 * when it is gone), and no other may appear.
 */
const KNOWN_CYCLES: string[][] = [];

const src = join(repoRoot, 'src');

function sourceFiles(dir = src): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [relative(src, join(dir, e.name)).split('\\').join('/')] : [],
  );
}

/** `native` for native/ffi.ts, `errors` for errors.ts. */
function unitOf(file: string): string {
  const [first, ...rest] = file.split('/');
  return rest.length ? first! : first!.replace(/\.ts$/, '');
}

/** Edges between units, each with the imports that make it. */
function folderGraph(files: Map<string, string>): Map<string, Map<string, string[]>> {
  const graph = new Map<string, Map<string, string[]>>();
  for (const [file, text] of files) {
    const from = unitOf(file);
    if (!graph.has(from)) graph.set(from, new Map());
    for (const ref of ts.preProcessFile(text, true, true).importedFiles) {
      if (!ref.fileName.startsWith('.')) continue;
      const target = posix.join(posix.dirname(file), ref.fileName).replace(/\.js$/, '.ts');
      if (!files.has(target)) throw new Error(`${file} imports ${ref.fileName}, which is not in src/`);
      const to = unitOf(target);
      if (to === from) continue;
      const why = graph.get(from)!.get(to) ?? [];
      why.push(`src/${file} imports ${ref.fileName}`);
      graph.get(from)!.set(to, why);
    }
  }
  return graph;
}

/** Strongly connected components with more than one unit (Tarjan), each sorted. */
function cycles(graph: Map<string, Map<string, string[]>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found.sort((a, b) => a.join().localeCompare(b.join()));
}

/** The edges inside a cycle, one line each, to say what to cut. */
function explain(graph: Map<string, Map<string, string[]>>, scc: string[]): string {
  const lines = [`{${scc.join(', ')}}:`];
  for (const from of scc)
    for (const [to, why] of graph.get(from) ?? []) if (scc.includes(to)) lines.push(`  ${from} -> ${to}: ${why.join('; ')}`);
  return lines.join('\n');
}

function graphOf(files: Map<string, string>) {
  const graph = folderGraph(files);
  const found = cycles(graph);
  return { graph, found, unknown: found.filter((c) => !KNOWN_CYCLES.some((k) => k.join() === c.join())) };
}

const tree = new Map(sourceFiles().map((f) => [f, readFileSync(join(src, f), 'utf8')]));

describe('the import graph of src/ folders', () => {
  it('has no cycle but the known ones', () => {
    const { graph, unknown } = graphOf(tree);
    expect(unknown.map((c) => explain(graph, c)).join('\n')).toBe('');
  });

  it('still has each known cycle (remove an entry of KNOWN_CYCLES once its cycle is gone)', () => {
    const { found } = graphOf(tree);
    for (const known of KNOWN_CYCLES) expect(found, known.join(', ')).toContainEqual([...known].sort());
  });

  it('keeps the CLI thin: cli/ imports only api/ and errors (the library is what it calls)', () => {
    const { graph } = graphOf(tree);
    const reached = [...(graph.get('cli')?.entries() ?? [])].filter(([to]) => to !== 'api' && to !== 'errors');
    expect(reached.map(([to, why]) => `cli -> ${to}: ${why.join('; ')}`)).toEqual([]);
    // The control: an import of the kernel seam from the CLI is seen.
    const fat = new Map(tree).set('cli/added.ts', "import { pipe } from '../native/ffi.js';\n");
    expect([...graphOf(fat).graph.get('cli')!.keys()]).toContain('native');
  });

  it('gives the library one face: index.ts exports only api/ and errors', () => {
    const { graph } = graphOf(tree);
    expect([...(graph.get('index')?.keys() ?? [])].filter((to) => to !== 'api' && to !== 'errors')).toEqual([]);
  });

  it('sees a cycle through a dynamic import, and one through a type-only import', () => {
    const dynamic = new Map(tree).set('state/added.ts', "export const f = () => import('../cli/main.js');\n");
    const typeOnly = new Map(tree).set('state/added.ts', "import type { Command } from '../cli/main.js';\n");
    for (const files of [dynamic, typeOnly]) expect(graphOf(files).unknown.flat()).toContain('state');
  });
});
