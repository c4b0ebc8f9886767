// `nsbox login [-u USER] [--password-stdin] [--tls-verify=false] REGISTRY` and `nsbox logout REGISTRY`
import type { Command } from 'commander';
import { NsboxError } from '../errors.js';
import { parseTlsVerify } from './registry-flags.js';
import { writeOut } from './output.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export function registerLogin(program: Command): void {
  program
    .command('login')
    .description('log in to a registry: the credentials are checked, then kept in $XDG_RUNTIME_DIR/containers/auth.json (podman\'s)')
    .argument('<registry>', 'HOST[:PORT]')
    .option('-u, --username <user>', 'user name')
    .option('--password-stdin', 'read the password from stdin')
    .option('--tls-verify <bool>', 'verify TLS certificates; false also allows plain HTTP', 'true')
    .option('--cert-dir <dir>', 'trust the CA certificates (*.crt) in DIR for this registry')
    .action(async (registry: string, opts: { username?: string; passwordStdin?: boolean; tlsVerify: string; certDir?: string }) => {
      const { login } = await import('../api/registry.js');
      if (!opts.username) throw new NsboxError('INVALID_ARGUMENT', 'no user name', 'give one with -u USER');
      if (!opts.passwordStdin) throw new NsboxError('INVALID_ARGUMENT', 'no password', 'pipe it in with --password-stdin (a password on the command line would show in ps)');
      const password = await readStdin();
      const r = await login(registry, { username: opts.username, password, tlsVerify: parseTlsVerify(opts.tlsVerify), certDir: opts.certDir });
      writeOut(`Login Succeeded (${r.registry}, kept in ${r.authFile})\n`);
    });
  program
    .command('logout')
    .description('forget the credentials kept for a registry')
    .argument('<registry>', 'HOST[:PORT]')
    .action(async (registry: string) => {
      const { logout } = await import('../api/registry.js');
      const r = await logout(registry);
      writeOut(`Removed login credentials for ${r.registry}\n`);
    });
}
