// `nsbox inspect`: a container, a pod or an image, found in that order, as
// podman's JSON for containers; --format renders Go-template fields. The
// template rules are also tested from source (core/template.ts is pure).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderTemplate } from '../src/core/template.js';
import { testMode } from './helpers/env.js';
import { setUpPodRoot, tearDownPodRoot } from './helpers/pod-root.js';
import { nsbox } from './helpers/nsbox.js';

let root: string;

beforeAll(() => {
  root = setUpPodRoot();
});
afterAll(() => tearDownPodRoot(root));

describe('inspect templates (from source)', () => {
  it('renders fields, nested fields and json, and refuses what it does not know', () => {
    const v = { State: { Status: 'running', Pid: 7 }, Config: { Labels: { a: '1' } }, Args: ['x', 'y'] };
    expect(renderTemplate('{{.State.Status}} {{ .State.Pid }}', v)).toBe('running 7');
    expect(renderTemplate('{{json .Config.Labels}}', v)).toBe('{"a":"1"}');
    expect(renderTemplate('{{.Args}} {{.Config.Labels}}', v)).toBe('[x y] map[a:1]');
    expect(() => renderTemplate('{{.State.Nope}}', v)).toThrow(/can't evaluate field Nope/);
    expect(() => renderTemplate('{{range .Args}}', v)).toThrow(/unsupported template action/);
  });
});

describe(`inspect (${testMode})`, () => {
  it('shows a container in podman\'s shape, a pod and an image, and renders --format', () => {
    expect(nsbox(root, ['run', '-d', '--name', 'web', '--label', 'tier=front', '-e', 'K=V', 'busybox', 'sleep', '600']).code).toBe(0);
    const [c] = JSON.parse(nsbox(root, ['inspect', 'web']).stdout);
    expect(c).toMatchObject({ Name: 'web', Path: 'sleep', Args: ['600'], State: { Status: 'running', Running: true, ExitCode: 0 }, PodName: 'web', ImageName: 'busybox:latest', Config: { Labels: { tier: 'front' }, User: '0:0' } });
    expect(c.Config.Env).toContain('K=V');
    expect(c.State.Pid).toBeGreaterThan(0);
    expect(nsbox(root, ['inspect', '--format', '{{.State.Status}} {{json .Config.Labels}}', 'web']).stdout).toBe('running {"tier":"front"}\n');
    expect(nsbox(root, ['stop', '-t', '0', 'web']).code).toBe(0);
    expect(nsbox(root, ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'web/web']).stdout).toBe('exited 137\n');
    // A pod by its name, and an image, when no container is called that.
    expect(nsbox(root, ['pod', 'create', '--name', 'plain']).code).toBe(0);
    expect(JSON.parse(nsbox(root, ['inspect', 'plain']).stdout)[0]).toMatchObject({ name: 'plain', status: 'running' });
    expect(JSON.parse(nsbox(root, ['inspect', 'busybox']).stdout)[0].names).toContain('busybox:latest');
  });

  it("shows a pod and an image in podman's shape too", () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'shaped', '--label', 'team=a', '-p', '127.0.0.1::80']).code).toBe(0);
    expect(nsbox(root, ['run', '-d', '--pod', 'shaped', '--name', 'member', 'busybox', 'sleep', '600']).code).toBe(0);
    const pod = JSON.parse(nsbox(root, ['pod', 'inspect', 'shaped']).stdout);
    expect(pod).toMatchObject({ Name: 'shaped', State: 'Running', Hostname: 'shaped', Labels: { team: 'a' }, NumContainers: 1, Containers: [{ Name: 'member', State: 'running' }] });
    expect(pod.SharedNamespaces).toEqual(expect.arrayContaining(['net', 'ipc', 'uts', 'pid', 'user']));
    const [binding] = pod.InfraConfig.PortBindings['80/tcp'];
    expect(binding.HostIp).toBe('127.0.0.1');
    expect(Number(binding.HostPort)).toBeGreaterThan(0);
    expect(nsbox(root, ['inspect', '--format', '{{.State}} {{.NumContainers}}', 'shaped']).stdout).toBe('Running 1\n');
    const image = JSON.parse(nsbox(root, ['image', 'inspect', 'busybox']).stdout);
    expect(image).toMatchObject({ RepoTags: ['busybox:latest'], Os: 'linux', RootFS: { Type: 'layers' } });
    expect(image.Id).toMatch(/^[0-9a-f]{64}$/);
    expect(image.Config.Cmd).toBeDefined();
    expect(image.Size).toBeGreaterThan(0);
    expect(nsbox(root, ['pod', 'rm', '-f', 'shaped']).code).toBe(0);
  });

  it('refuses what is nothing, and a bad template, in one line', () => {
    for (const [args, message] of [
      [['inspect', 'nothing-here'], /no such container, pod or image: nothing-here/],
      [['inspect', '--format', '{{.Nope}}', 'plain'], /can't evaluate field Nope/],
    ] as const) {
      const r = nsbox(root, [...args]);
      expect(r.code).toBe(125);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });
});
