// The reference blog pod (README's main job, issue 5): nginx on the pod's
// port 80, published on the host, proxying to Ghost on 127.0.0.1:2368 inside
// the same pod. Shared by scripts/demo.mjs, scripts/bench-blog.mjs and
// test/blog.test.ts so that all three bring up exactly the same pod.
import { spawnSync } from 'node:child_process';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = join(here, '..', '..');
export const cliPath = join(repo, 'dist', 'cli', 'nsbox.cjs');

/** The reference nginx configuration, verbatim from the issue (bound into nginx read-only). */
export const NGINX_CONF_FILE = join(repo, 'scripts', 'blog', 'nginx.conf');
export const GHOST_PORT = 2368;

/**
 * Image names carry the recipe hash of their tarball (`ghost:1a2b…`), so an
 * image imported from an older recipe is never mistaken for the current one
 * and an unchanged one is not imported twice.
 */
export function imageNameFor(recipe, tarballPath) {
  const m = /-([0-9a-f]{16})\.tar$/.exec(basename(tarballPath));
  return m ? `${recipe}:${m[1]}` : recipe;
}

/**
 * The nsbox argument lists that bring the blog pod up, in order, once the
 * images exist. nginx gets the reference configuration as docker users give
 * it: the file, bound read-only over /etc/nginx/nginx.conf.
 */
export function blogCommands({ pod = 'blog', publish = '8080:80', url = 'http://localhost:8080', ghostImage = 'ghost', nginxImage = 'nginx' } = {}) {
  return [
    ['pod', 'create', '--name', pod, '-p', publish],
    ['run', '-d', '--pod', pod, '--name', 'ghost', '-e', `url=${url}`, ghostImage, '/usr/local/bin/ghost-start'],
    ['run', '-d', '--pod', pod, '--name', 'nginx', '-v', `${NGINX_CONF_FILE}:/etc/nginx/nginx.conf:ro`, nginxImage, 'nginx', '-g', 'daemon off;'],
  ];
}

/** The same pod as Kubernetes YAML (kube play), and the image names it gives. */
export const KUBE_YAML_FILE = join(repo, 'scripts', 'blog', 'blog-pod.yaml');
export const KUBE_IMAGES = { ghost: 'nsbox-blog/ghost:5.130.6', nginx: 'nsbox-blog/nginx:1' };

/** The commands that bring the pod up from the YAML: the recipe images tagged with its names, then kube play. */
export function kubeBlogCommands({ ghostImage = 'ghost', nginxImage = 'nginx', file = KUBE_YAML_FILE } = {}) {
  return [
    ['image', 'tag', ghostImage, KUBE_IMAGES.ghost],
    ['image', 'tag', nginxImage, KUBE_IMAGES.nginx],
    ['kube', 'play', '--replace', '--wait', file],
  ];
}

/** How a command is shown to the user: the config by its path in the checkout. */
export function displayCommand(args) {
  const quote = (a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return args.map((a) => quote(a.replace(`${NGINX_CONF_FILE}:`, './scripts/blog/nginx.conf:').replace(KUBE_YAML_FILE, './scripts/blog/blog-pod.yaml'))).join(' ');
}

/** Runs nsbox synchronously; { code, stdout, stderr }. */
export function nsbox(args, { root, env = process.env, timeout = 600_000, stdio = 'pipe' } = {}) {
  const r = spawnSync(process.execPath, [cliPath, ...(root ? ['--root', root] : []), ...args], { encoding: 'utf8', env, timeout, stdio });
  return { code: r.status ?? 128 + 9, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Imports `tarball` as `name` unless an image of that name exists. Returns true if it imported. */
export function ensureImage(name, tarball, { root, stdio = 'pipe' } = {}) {
  if (nsbox(['image', 'inspect', name], { root }).code === 0) return false;
  const r = nsbox(['image', 'import', tarball, '--name', name], { root, stdio });
  if (r.code !== 0) throw new Error(`nsbox image import ${tarball} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return true;
}

/**
 * Waits until `url` answers 200 with a <title> (Ghost's home page through
 * nginx). Resolves { title, ms }; rejects after timeoutMs with the last
 * status seen.
 */
export async function waitForBlog(url, timeoutMs = 120_000) {
  const start = Date.now();
  let last = 'no answer';
  while (Date.now() - start < timeoutMs) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      const body = await res.text();
      const title = /<title>([^<]*)<\/title>/.exec(body)?.[1];
      if (res.status === 200 && title) return { title, ms: Date.now() - start };
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err.cause?.code ?? err.message;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not serve the blog within ${timeoutMs / 1000} s (last: ${last})`);
}
