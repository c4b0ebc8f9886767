// --label on pods and containers, and podman's --filter on pod ls and ps:
// label=KEY[=VALUE], name=TEXT, status=STATE (every filter must match); bad
// labels and filters are one-line errors that make nothing. The rules are
// also tested from source (core/filters.ts is pure).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFilters, parseLabels } from '../src/core/filters.js';
import { testMode } from './helpers/env.js';
import { setUpPodRoot, tearDownPodRoot } from './helpers/pod-root.js';
import { nsbox } from './helpers/nsbox.js';

let root: string;

beforeAll(() => {
  root = setUpPodRoot();
});
afterAll(() => tearDownPodRoot(root));

const podNames = (...filters: string[]) =>
  (JSON.parse(nsbox(root, ['pod', 'ls', '--format', 'json', ...filters.flatMap((f) => ['--filter', f])]).stdout) as { name: string }[]).map((p) => p.name).sort();
const ctrNames = (...args: string[]) => nsbox(root, ['ps', '-q', ...args]).stdout.split('\n').filter(Boolean).sort();

describe('label and filter rules (from source)', () => {
  it('parses labels and matches every filter', () => {
    expect(parseLabels(['a=1', 'b', 'c=x=y', 'a=2'])).toEqual({ a: '2', b: '', c: 'x=y' });
    expect(() => parseLabels(['=x'])).toThrow(/invalid label "=x"/);
    const item = { name: 'web-1', status: 'running', labels: { tier: 'front', v: '' } };
    expect(compileFilters([])(item)).toBe(true);
    expect(compileFilters(['label=tier'])(item)).toBe(true);
    expect(compileFilters(['label=tier=front', 'name=web'])(item)).toBe(true);
    expect(compileFilters(['label=tier=back'])(item)).toBe(false);
    expect(compileFilters(['label=tier', 'status=exited'])(item)).toBe(false);
    expect(compileFilters(['label=other'])({ name: 'x', status: 'running' })).toBe(false);
    expect(() => compileFilters(['colour=red'])).toThrow(/invalid filter "colour=red"/);
    expect(() => compileFilters(['name='])).toThrow(/invalid filter/);
  });
});

describe(`labels and filters (${testMode})`, () => {
  it('labels pods and containers, and lists by label, name and status', () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'shop', '--label', 'team=web', '--label', 'env=test']).code).toBe(0);
    expect(nsbox(root, ['pod', 'create', '--name', 'db', '--label', 'team=data']).code).toBe(0);
    expect(podNames()).toEqual(['db', 'shop']); // the control: no filter, all
    expect(podNames('label=team')).toEqual(['db', 'shop']);
    expect(podNames('label=team=web')).toEqual(['shop']);
    expect(podNames('label=team', 'name=d')).toEqual(['db']);
    expect(podNames('label=env=prod')).toEqual([]);
    expect(JSON.parse(nsbox(root, ['pod', 'inspect', 'shop']).stdout).labels).toEqual({ team: 'web', env: 'test' });

    expect(nsbox(root, ['run', '-d', '--pod', 'shop', '--name', 'front', '--label', 'tier=front', 'busybox', 'sleep', '600']).code).toBe(0);
    expect(nsbox(root, ['run', '--pod', 'shop', '--name', 'job', '--label', 'tier=batch', 'busybox', 'true']).code).toBe(0);
    expect(ctrNames()).toEqual(['shop/front']);
    expect(ctrNames('-a')).toEqual(['shop/front', 'shop/job']);
    expect(ctrNames('-a', '--filter', 'label=tier=batch')).toEqual(['shop/job']);
    expect(ctrNames('--filter', 'status=exited')).toEqual(['shop/job']);
    expect(ctrNames('-a', '--filter', 'label=tier', '--filter', 'name=fro')).toEqual(['shop/front']);
    expect(JSON.parse(nsbox(root, ['ps', '--format', 'json']).stdout)[0].labels).toEqual({ tier: 'front' });
  });

  it("prints podman's field names in --format json, beside nsbox's own", () => {
    const ctrs = JSON.parse(nsbox(root, ['ps', '-a', '--pod', 'shop', '--format', 'json']).stdout) as Record<string, unknown>[];
    const front = ctrs.find((c) => c.name === 'front')!;
    const job = ctrs.find((c) => c.name === 'job')!;
    expect(front).toMatchObject({ Names: ['front'], PodName: 'shop', State: 'running', Status: 'Up', Image: 'busybox:latest', Command: ['sleep', '600'], Labels: { tier: 'front' }, Exited: false, Restarts: 0 });
    expect(front.Id).toBe(front.id);
    expect(front.Pid).toBeGreaterThan(0);
    expect(front).not.toHaveProperty('env');
    expect(job).toMatchObject({ State: 'exited', Status: 'Exited (0)', ExitCode: 0, Exited: true, Labels: { tier: 'batch' } });
    const pods = JSON.parse(nsbox(root, ['pod', 'ls', '--format', 'json']).stdout) as Record<string, unknown>[];
    expect(pods.find((p) => p.Name === 'shop')).toMatchObject({ Status: 'Running', NumberOfContainers: 2, Labels: { team: 'web', env: 'test' } });
  });

  it('refuses a bad label or filter in one line, and makes nothing', () => {
    for (const args of [
      ['pod', 'create', '--name', 'bad', '--label', '=x'],
      ['pod', 'ls', '--filter', 'colour=red'],
      ['ps', '--filter', 'label='],
      ['run', '--pod', 'db', '--name', 'bad', '--label', 'a b=c', 'busybox', 'true'],
    ]) {
      const r = nsbox(root, args);
      expect(r.code, args.join(' ')).toBe(125);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/invalid (label|filter)/);
    }
    expect(podNames()).toEqual(['db', 'shop']);
    expect(ctrNames('-a', '--pod', 'db')).toEqual([]);
  });
});
