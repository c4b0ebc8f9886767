// The token server test/helpers/token-issuer.ts runs as a process of its own
// (the tests block their event loop while a CLI or skopeo runs, and those
// are what ask it for tokens). Args: a JSON config. Prints its port; appends
// each request to config.log; signs with the wrong key while config.wrongFlag exists.
import { createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const config = JSON.parse(process.argv[2]);
const keys = { good: { key: readFileSync(config.good.key, 'utf8'), cert: readFileSync(config.good.cert, 'utf8') }, wrong: { key: readFileSync(config.wrong.key, 'utf8'), cert: readFileSync(config.wrong.cert, 'utf8') } };
const b64url = (b) => Buffer.from(b).toString('base64url');

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const scope = url.searchParams.get('scope');
  let user = null;
  const auth = req.headers.authorization;
  if (auth?.startsWith('Basic ')) {
    const [u, p] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
    if (!u || config.users[u] !== p) {
      appendFileSync(config.log, JSON.stringify({ scope, user: u ?? '', refused: true }) + '\n');
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
      return;
    }
    user = u;
  }
  appendFileSync(config.log, JSON.stringify({ scope, user }) + '\n');
  const access = (scope ?? '')
    .split(' ')
    .filter(Boolean)
    .map((s) => {
      const [type, name, actions] = s.split(':');
      const wanted = actions.split(',');
      const granted = user ? wanted : config.publicRepos.includes(name) ? wanted.filter((a) => a === 'pull') : [];
      return { type, name, actions: granted };
    });
  const signer = existsSync(config.wrongFlag) ? keys.wrong : keys.good;
  const now = Math.floor(Date.now() / 1000);
  const der = new X509Certificate(signer.cert).raw.toString('base64');
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'ES256', x5c: [der] }));
  const claims = b64url(JSON.stringify({ iss: config.issuer, sub: user ?? '', aud: config.service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access }));
  const sig = sign('sha256', Buffer.from(`${header}.${claims}`), { key: createPrivateKey(signer.key), dsaEncoding: 'ieee-p1363' });
  const token = `${header}.${claims}.${b64url(sig)}`;
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
