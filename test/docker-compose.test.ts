// docker-compose (Debian's 1.29, the Python client) on nsbox through
// `nsbox system service`: `up -d` of a two-service file makes the project's
// network, its named volume and both containers; web reaches backend by its
// service name and serves what it fetched on a published port; `down -v`
// removes every container, the network and the volume, leaving no pod.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testMode } from './helpers/env.js';
import { setUpPodRoot, tearDownPodRoot } from './helpers/pod-root.js';
import { fetchWhenUp, freePort } from './helpers/net.js';
import { nsbox } from './helpers/nsbox.js';
import { dockerEnv, makeDocker, startService, type DockerService } from './helpers/docker-service.js';

const COMPOSE = '/usr/bin/docker-compose';

let root: string;
let service: DockerService;
let docker: ReturnType<typeof makeDocker>;
let project: string;

function compose(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const env = { ...dockerEnv(service.socket, mkdtempSync(join(root, 'compose-config-'))), COMPOSE_INTERACTIVE_NO_CLI: '1' };
  const r = spawnSync(COMPOSE, ['--ansi', 'never', '-f', join(project, 'docker-compose.yml'), '-p', 'demo', ...args], { encoding: 'utf8', env, cwd: project, timeout: 120_000 });
  if (r.error) throw new Error(`docker-compose could not run (${r.error.message}): \`npm test\` installs Debian's docker-compose`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  root = setUpPodRoot();
  service = await startService(root);
  docker = makeDocker(service.socket, root);
  project = mkdtempSync(join(root, 'project-'));
}, 60_000);

afterAll(async () => {
  if (service && project) compose(['down', '-v', '--timeout', '1']);
  await service?.stop();
  tearDownPodRoot(root);
});

const lines = (s: string) => s.split('\n').filter(Boolean).sort();

describe(`docker-compose 1.29 on nsbox (${testMode})`, () => {
  it('up -d: web reaches backend by service name, backend keeps its page in a named volume, web is published; down -v removes it all', async () => {
    const port = await freePort();
    writeFileSync(
      join(project, 'docker-compose.yml'),
      `version: "3.8"
services:
  backend:
    image: busybox
    command: ["sh", "-c", "[ -f /data/index.html ] || echo \\"backend page $$(hostname)\\" > /data/index.html; exec httpd -f -p 8000 -h /data"]
    volumes:
      - pages:/data
  web:
    image: busybox
    depends_on: [backend]
    ports:
      - "127.0.0.1:${port}:80"
    command: ["sh", "-c", "mkdir -p /www; while true; do wget -q -O /www/tmp http://backend:8000/index.html && mv /www/tmp /www/relayed.html; sleep 0.3; done & exec httpd -f -p 80 -h /www"]
volumes:
  pages: {}
`,
    );
    const up = compose(['up', '-d']);
    expect(up.code, up.stderr).toBe(0);
    expect(lines(docker(['ps', '--format', '{{.Names}}']).stdout)).toEqual(['demo_backend_1', 'demo_web_1']);
    expect(lines(docker(['volume', 'ls', '-q']).stdout)).toEqual(['demo_pages']);
    expect(docker(['network', 'ls', '--filter', 'name=demo_default', '--format', '{{.Name}}']).stdout.trim()).toBe('demo_default');

    const relayed = await fetchWhenUp(`http://127.0.0.1:${port}/relayed.html`, 20_000);
    expect(relayed).toMatch(/^backend page \S+\n$/);
    // The page lives in the volume: the backend's own file is what web relayed.
    const inVolume = docker(['exec', 'demo_backend_1', 'cat', '/data/index.html']);
    expect(inVolume.stdout).toBe(relayed);
    // Control: a name that is no service does not resolve on the project network.
    const stranger = docker(['exec', 'demo_web_1', 'sh', '-c', 'wget -q -T 2 -O - http://nosuchservice:8000/index.html; echo "rc=$?"']);
    expect(stranger.stdout).toMatch(/rc=[1-9]/);

    const down = compose(['down', '-v', '--timeout', '1']);
    expect(down.code, down.stderr).toBe(0);
    expect(docker(['ps', '-aq']).stdout).toBe('');
    expect(docker(['volume', 'ls', '-q']).stdout).toBe('');
    expect(docker(['network', 'ls', '--filter', 'name=demo_default', '-q']).stdout).toBe('');
    expect(JSON.parse(nsbox(root, ['pod', 'ls', '--format', 'json']).stdout)).toEqual([]);
  }, 180_000);
});
