// livenessProbe, readinessProbe and startupProbe as nsbox checks them:
// exec in the container, an HTTP GET or a TCP connect inside the pod's
// network namespace, with Kubernetes' defaults (period 10 s, timeout 1 s,
// failureThreshold 3).
import { kubeError, Reader } from './fields.js';
import type { KubeProbe } from './model.js';

function portOf(r: Reader, named: Map<string, number>): number {
  const v = r.raw('port');
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535) return v;
  if (typeof v === 'string' && named.has(v)) return named.get(v)!;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  throw kubeError(r.at('port'), `${JSON.stringify(v)} is neither a port number nor a named containerPort`, 'give the port number, or the name of one of the container\'s ports');
}

export function readProbe(r: Reader, named: Map<string, number>): KubeProbe {
  const actions = ['exec', 'httpGet', 'tcpSocket', 'grpc'].filter((k) => r.has(k));
  if (actions.length !== 1) throw kubeError(r.path, actions.length ? `gives ${actions.join(' and ')}: a probe has one` : 'has no exec, httpGet or tcpSocket', 'give exactly one of exec, httpGet, tcpSocket');
  r.refuse('grpc', 'nsbox probes with exec, httpGet and tcpSocket');
  let action: KubeProbe['action'];
  if (r.has('exec')) {
    const e = r.obj('exec');
    const command = e.strings('command');
    if (!command?.length) throw kubeError(e.at('command'), 'is required', 'give the command to run, e.g. [cat, /tmp/healthy]');
    e.done();
    action = { kind: 'exec', command };
  } else if (r.has('httpGet')) {
    const h = r.obj('httpGet');
    const path = h.str('path') ?? '/';
    const scheme = h.str('scheme') ?? 'HTTP';
    if (scheme !== 'HTTP' && scheme !== 'HTTPS') throw kubeError(h.at('scheme'), `${JSON.stringify(scheme)} is not HTTP or HTTPS`, 'use HTTP or HTTPS');
    const host = h.str('host');
    if (host !== undefined && host !== '127.0.0.1' && host !== 'localhost') throw kubeError(h.at('host'), `${JSON.stringify(host)} is not the pod`, 'remove host: probes go to the pod itself');
    const headers: Record<string, string> = {};
    for (const hd of h.list('httpHeaders')) {
      headers[hd.need('name')] = hd.str('value') ?? '';
      hd.done();
    }
    action = { kind: 'http', port: portOf(h, named), path: path.startsWith('/') ? path : `/${path}`, scheme, headers };
    h.done();
  } else {
    const t = r.obj('tcpSocket');
    t.str('host');
    action = { kind: 'tcp', port: portOf(t, named) };
    t.done();
  }
  const probe: KubeProbe = {
    action,
    initialDelayMs: (r.int('initialDelaySeconds') ?? 0) * 1000,
    periodMs: (r.int('periodSeconds', 1) ?? 10) * 1000,
    timeoutMs: (r.int('timeoutSeconds', 1) ?? 1) * 1000,
    failureThreshold: r.int('failureThreshold', 1) ?? 3,
  };
  const success = r.int('successThreshold', 1);
  if (success !== undefined && success !== 1) r.ignore('successThreshold', 'one success counts');
  r.ignore('terminationGracePeriodSeconds', 'the pod\'s grace period applies');
  r.done();
  return probe;
}
