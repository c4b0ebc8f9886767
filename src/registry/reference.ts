// Image references as registries know them: [HOST[:PORT]/]PATH[:TAG][@DIGEST].
// A first component with a dot, a port or "localhost" is a registry host;
// otherwise the image is on Docker Hub, and a one-component path is an
// official image (busybox -> docker.io/library/busybox), as docker and podman
// resolve short names.
import { NsboxError } from '../errors.js';

export const DOCKER_HUB = 'docker.io';
/** Docker Hub's API host. */
const DOCKER_HUB_API = 'registry-1.docker.io';

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST = /^(?:localhost|\[[0-9a-fA-F:]+\]|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::[0-9]{1,5})?$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

export interface RemoteRef {
  /** The registry as named ("docker.io", "127.0.0.1:5000"). */
  registry: string;
  /** The host:port requests go to ("registry-1.docker.io" for Docker Hub). */
  apiHost: string;
  /** The repository path in the registry ("library/busybox"). */
  repository: string;
  tag?: string;
  digest?: string;
  /** Tag, or digest when there is no tag: what the manifest is fetched by. */
  reference: string;
  /** NAME:TAG the image gets in the store (with the host as written), or none for a digest-only reference. */
  names: string[];
  /** No registry host was written (busybox, team/app): registries.conf's search list applies. */
  shortName: boolean;
}

function invalid(ref: string, why: string): NsboxError {
  return new NsboxError('INVALID_IMAGE_NAME', `invalid image reference ${JSON.stringify(ref)}: ${why}`, 'use [REGISTRY/]NAME[:TAG][@sha256:DIGEST], e.g. busybox:1.36 or 127.0.0.1:5000/team/app:v1');
}

export function parseRemoteRef(ref: string): RemoteRef {
  if (!ref || ref.length > 512) throw invalid(ref, ref ? 'it is too long' : 'it is empty');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(ref, `bad digest ${JSON.stringify(digest)} (only sha256:<64 hex> is supported)`);
  }
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  let tag: string | undefined;
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(ref, `bad tag ${JSON.stringify(tag)}`);
  }
  const parts = rest.split('/');
  const first = parts[0]!;
  const hasHost = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasHost && !HOST.test(first)) throw invalid(ref, `bad registry host ${JSON.stringify(first)}`);
  const path = hasHost ? parts.slice(1) : parts;
  for (const p of path) if (!COMPONENT.test(p)) throw invalid(ref, p === '' ? 'empty path component' : `bad component ${JSON.stringify(p)} (lowercase letters, digits and separators . _ - only)`);
  const registry = hasHost ? first : DOCKER_HUB;
  const hub = registry === DOCKER_HUB || registry === 'index.docker.io';
  const repository = hub && path.length === 1 ? `library/${path[0]}` : path.join('/');
  if (!tag && !digest) tag = 'latest';
  const names: string[] = [];
  if (tag) {
    names.push(`${rest}:${tag}`);
    if (hub) names.push(`${DOCKER_HUB}/${repository}:${tag}`);
  }
  return { registry: hub ? DOCKER_HUB : registry, apiHost: hub ? DOCKER_HUB_API : registry, repository, tag, digest, reference: digest ?? tag!, names: [...new Set(names)], shortName: !hasHost };
}

/** localhost, 127.0.0.0/8 and ::1: plain HTTP is allowed there without --tls-verify=false, as docker does. */
export function isLoopbackHost(hostPort: string): boolean {
  const host = hostPort.startsWith('[') ? hostPort.slice(1, hostPort.indexOf(']')) : hostPort.replace(/:[0-9]+$/, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
