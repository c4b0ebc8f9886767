// A token server for docker-registry's token auth, run by the test as a
// process of its own (token-issuer-server.mjs): it signs real ES256 JWTs
// with a key whose self-signed certificate (made with openssl) is the
// registry's rootcertbundle, so the registry verifies every token for real.
// Anonymous requests get pull on the public repositories; a known user
// (basic auth on the token request) gets what it asks for. Stopped by its pid.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface TokenIssuer {
  realm: string;
  service: string;
  issuer: string;
  certFile: string;
  /** The token requests so far: scope, user (null: anonymous), refused. */
  requests: () => { scope: string | null; user: string | null; refused?: boolean }[];
  clearRequests: () => void;
  /** Sign with a key the registry does not trust (the negative control). */
  useWrongKey: (yes: boolean) => void;
  stop: () => Promise<void>;
}

function makeKey(dir: string, name: string): { key: string; cert: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`], { stdio: 'ignore' });
  return { key, cert };
}

export async function startTokenIssuer(dir: string, users: Record<string, string>, publicRepos: string[]): Promise<TokenIssuer> {
  const config = {
    good: makeKey(dir, 'token-issuer'),
    wrong: makeKey(dir, 'stranger'),
    users,
    publicRepos,
    service: 'nsbox-test-registry',
    issuer: 'nsbox-test-issuer',
    log: join(dir, 'token-requests.jsonl'),
    wrongFlag: join(dir, 'token-wrong-key'),
  };
  writeFileSync(config.log, '');
  const script = join(dirname(fileURLToPath(import.meta.url)), 'token-issuer-server.mjs');
  const child = spawn(process.execPath, [script, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    child.once('exit', (code) => reject(new Error(`the token issuer exited (${code})`)));
  });
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service: config.service,
    issuer: config.issuer,
    certFile: config.good.cert,
    requests: () => readFileSync(config.log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)),
    clearRequests: () => writeFileSync(config.log, ''),
    useWrongKey: (yes) => (yes ? writeFileSync(config.wrongFlag, '') : existsSync(config.wrongFlag) && rmSync(config.wrongFlag)),
    stop: async () => {
      if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGTERM');
      await exited;
    },
  };
}
