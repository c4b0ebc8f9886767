// The CLI builds only the called verb's commands. The table that says which
// register function defines which verb must be right: each entry's names
// are among the commands (and aliases) its function defines, and every
// command of the whole program has an entry, so no verb falls back to the
// slow path of building them all. A mistyped verb and help get them all.
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, POD_VERBS, TOP_VERBS } from '../dist/cli/program.js';

const namesOf = (c: Command) => c.commands.flatMap((s) => [s.name(), ...s.aliases()]);

describe('the CLI command table', () => {
  it.each([...TOP_VERBS.map((e) => ['top', e[0].join(' '), e] as const), ...POD_VERBS.map((e) => ['pod', e[0].join(' '), e] as const)])('%s entry %s defines the verbs it is listed for', (_where, _names, [names, register]) => {
    const parent = new Command('parent').enablePositionalOptions();
    register(parent);
    expect(namesOf(parent)).toEqual(expect.arrayContaining(names));
  });

  it('covers every command of the whole program', () => {
    const all = buildProgram([], true);
    const pod = all.commands.find((c) => c.name() === 'pod')!;
    expect(namesOf(all).filter((n) => n !== 'pod' && !TOP_VERBS.some(([names]) => names.includes(n)))).toEqual([]);
    expect(namesOf(pod).filter((n) => !POD_VERBS.some(([names]) => names.includes(n)))).toEqual([]);
    expect(namesOf(pod).length).toBeGreaterThan(8);
  });

  it('builds only the verb called (after global options), all of them for help or an unknown verb', () => {
    expect(namesOf(buildProgram(['--root', '/x', 'ps', '-a']))).toEqual(['ps']);
    expect(namesOf(buildProgram(['--debug', 'rm', '-f', 'a']))).toEqual(expect.arrayContaining(['start', 'stop', 'rm']));
    expect(namesOf(buildProgram(['--debug', 'rm', '-f', 'a']))).not.toContain('ps');
    const pod = buildProgram(['pod', 'ls', '--format', 'json']).commands;
    expect(pod.map((c) => c.name())).toEqual(['pod']);
    expect(namesOf(pod[0]!)).toEqual(['ls', 'ps', 'list']);
    const everything = namesOf(buildProgram([], true)).sort();
    expect(namesOf(buildProgram(['psx'])).sort()).toEqual(everything);
    expect(namesOf(buildProgram(['--help'])).sort()).toEqual(everything);
    expect(namesOf(buildProgram(['pod']).commands[0]!).length).toBe(namesOf(buildProgram([], true).commands.find((c) => c.name() === 'pod')!).length);
  });
});
