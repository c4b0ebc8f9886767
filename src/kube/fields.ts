// Reading a Kubernetes object's fields with their YAML path in every
// message: `spec.containers[0].ports[1].hostPort must be a number`. A field
// nsbox does not know is one warning naming it; `Reader.refuse` is for those
// whose being ignored would change what runs.
import { NsboxError } from '../errors.js';

export type Obj = Record<string, unknown>;

export function kubeError(path: string, problem: string, fix: string): NsboxError {
  return new NsboxError('KUBE_INVALID', `${path}: ${problem}`, fix);
}

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The fields of one object at `path`, read once each; `done()` warns about the rest. */
export class Reader {
  private readonly seen = new Set<string>();
  constructor(
    readonly path: string,
    private readonly o: Obj,
    private readonly warn: (message: string) => void,
  ) {}

  static of(path: string, v: unknown, warn: (m: string) => void): Reader {
    if (v === undefined || v === null) return new Reader(path, {}, warn);
    if (!isObj(v)) throw kubeError(path, 'must be a mapping', 'write it as `key: value` lines');
    return new Reader(path, v, warn);
  }

  at(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  keys(): string[] {
    return Object.keys(this.o);
  }

  has(key: string): boolean {
    return this.o[key] !== undefined && this.o[key] !== null;
  }

  raw(key: string): unknown {
    this.seen.add(key);
    return this.o[key] ?? undefined;
  }

  str(key: string): string | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw kubeError(this.at(key), `must be a string, not ${JSON.stringify(v)}`, 'quote it');
    return v;
  }

  need(key: string): string {
    const v = this.str(key);
    if (v === undefined || v === '') throw kubeError(this.at(key), 'is required', `add ${key}`);
    return v;
  }

  int(key: string, min = 0): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw kubeError(this.at(key), `must be a whole number of at least ${min}, not ${JSON.stringify(v)}`, 'give a number');
    return v;
  }

  bool(key: string): boolean | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') throw kubeError(this.at(key), `must be true or false, not ${JSON.stringify(v)}`, 'write true or false');
    return v;
  }

  strings(key: string): string[] | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string' || typeof s === 'number')) throw kubeError(this.at(key), 'must be a list of strings', 'write it as a YAML list');
    return v.map(String);
  }

  /** A list of mappings, each as a Reader named `key[i]`. */
  list(key: string): Reader[] {
    const v = this.raw(key);
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw kubeError(this.at(key), 'must be a list', 'write it as a YAML list (- items)');
    return v.map((item, i) => Reader.of(`${this.at(key)}[${i}]`, item, this.warn));
  }

  obj(key: string): Reader {
    return Reader.of(this.at(key), this.raw(key), this.warn);
  }

  /** A map of strings (labels, ConfigMap data). */
  stringMap(key: string): Record<string, string> {
    const v = this.raw(key);
    if (v === undefined) return {};
    if (!isObj(v)) throw kubeError(this.at(key), 'must be a mapping', 'write it as `key: value` lines');
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(v)) {
      if (typeof val !== 'string' && typeof val !== 'number' && typeof val !== 'boolean') throw kubeError(`${this.at(key)}.${k}`, 'must be a string', 'quote the value');
      out[k] = String(val);
    }
    return out;
  }

  /** A field that changes what runs if ignored: refused when set (to anything but `allowed`). */
  refuse(key: string, why: string, allowed: unknown = undefined): void {
    const v = this.raw(key);
    if (v !== undefined && v !== allowed) throw kubeError(this.at(key), `${JSON.stringify(v)} is not supported: ${why}`, `remove ${key}`);
  }

  ignore(key: string, why: string): void {
    if (this.raw(key) !== undefined) this.warn(`${this.at(key)} is not supported and is ignored: ${why}`);
  }

  /** Marks fields as read without using them (metadata that changes nothing here). */
  accept(...keys: string[]): void {
    for (const k of keys) this.seen.add(k);
  }

  /** Warns about every field not read. */
  done(): void {
    for (const k of Object.keys(this.o)) if (!this.seen.has(k) && this.o[k] !== null) this.warn(`${this.at(k)} is not supported and is ignored`);
  }
}
