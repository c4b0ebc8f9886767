// The docker CLI the Docker-API tests drive: the client binary out of
// Debian's docker.io package (apt-get download + dpkg-deb), so that no
// daemon is installed or started. Cached by the package's version.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

function candidateVersion() {
  const r = spawnSync('apt-cache', ['policy', 'docker.io'], { encoding: 'utf8' });
  const m = /Candidate:\s*(\S+)/.exec(r.stdout ?? '');
  return m && m[1] !== '(none)' ? m[1] : null;
}

/** Returns the path of the docker client, fetching it once; throws with the reason when it cannot. */
export function ensureDockerClient(cacheRoot = process.getuid() === 0 ? '/var/cache/nsbox-test' : join(homedir(), '.cache', 'nsbox-test')) {
  const version = candidateVersion();
  if (!version) throw new Error('apt has no docker.io package: run `apt-get update` (Debian 12 has docker.io 20.10)');
  const dir = join(cacheRoot, 'docker-cli', version.replace(/[^\w.+-]/g, '_'));
  const client = join(dir, 'docker');
  if (existsSync(client)) return client;
  mkdirSync(join(cacheRoot, 'docker-cli'), { recursive: true, mode: 0o755 });
  const work = mkdtempSync(join(cacheRoot, 'docker-cli', '.fetch-'));
  try {
    const dl = spawnSync('apt-get', ['download', `docker.io=${version}`], { cwd: work, encoding: 'utf8' });
    const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download docker.io failed: ${(dl.stderr || dl.stdout || '').trim().split('\n').pop()}`);
    const x = spawnSync('dpkg-deb', ['-x', join(work, deb), join(work, 'x')], { encoding: 'utf8' });
    if (x.status !== 0) throw new Error(`dpkg-deb -x failed: ${x.stderr.trim()}`);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    renameSync(join(work, 'x', 'usr', 'bin', 'docker'), client);
    chmodSync(client, 0o755);
    chmodSync(dir, 0o755);
    return client;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
