// Plain HTTP to a registry that is not on loopback is refused unless
// --tls-verify=false. The registry (the real docker-registry, plain HTTP)
// listens on 10.213.0.1, an address given to the loopback device of a
// network namespace this test makes with `unshare -rn`: nothing on the
// host's network changes. nsbox login runs in the same namespace (it checks
// /v2/ and stores the login in a temp XDG_RUNTIME_DIR).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupRoot, cliPath, tempRoot, testMode } from './helpers/env.js';

let root: string;

beforeAll(() => {
  root = tempRoot();
});
afterAll(() => cleanupRoot(root));

const SCRIPT = `
set -u
ip link set lo up && ip addr add 10.213.0.1/32 dev lo || exit 90
/usr/bin/docker-registry serve "$ROOT/config.yml" >"$ROOT/registry.log" 2>&1 &
reg=$!
for i in $(seq 100); do grep -qi 'listening on' "$ROOT/registry.log" && break; sleep 0.1; done
echo secret | "$NODE" "$CLI" --root "$ROOT/store" login -u someone --password-stdin 10.213.0.1:5000 2>"$ROOT/plain.err"; echo "plain=$?"
echo secret | "$NODE" "$CLI" --root "$ROOT/store" login --tls-verify=false -u someone --password-stdin 10.213.0.1:5000 2>"$ROOT/insecure.err"; echo "insecure=$?"
kill "$reg"; wait "$reg" 2>/dev/null
exit 0
`;

describe(`plain HTTP off loopback (${testMode})`, () => {
  it('refuses a plain-HTTP registry on a non-loopback address, with a one-line hint; --tls-verify=false reaches it (the control)', () => {
    mkdirSync(join(root, 'storage'));
    mkdirSync(join(root, 'runtime'), { mode: 0o700 });
    writeFileSync(join(root, 'config.yml'), ['version: 0.1', 'storage:', '  filesystem:', `    rootdirectory: ${join(root, 'storage')}`, 'http:', '  addr: 10.213.0.1:5000', ''].join('\n'));
    const r = spawnSync('unshare', ['-rn', 'sh', '-c', SCRIPT], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ROOT: root, NODE: process.execPath, CLI: cliPath, XDG_RUNTIME_DIR: join(root, 'runtime') } });
    expect(r.status, r.stderr).toBe(0);
    const err = (name: string) => spawnSync('cat', [join(root, name)], { encoding: 'utf8' }).stdout;
    expect(r.stdout, err('plain.err')).toContain('plain=125');
    expect(err('plain.err').trim().split('\n')).toHaveLength(1);
    expect(err('plain.err')).toMatch(/10\.213\.0\.1:5000.*--tls-verify=false/);
    expect(r.stdout, err('insecure.err')).toContain('insecure=0');
  });
});
