// --label KEY=VALUE and --filter KEY=VALUE as podman takes them, pure:
// labels are parsed and checked here; a filter matches a pod or container
// by label (KEY or KEY=VALUE), name (a substring, as podman's) or status.

export type Labels = Record<string, string>;

export interface Filterable {
  name: string;
  status: string;
  labels?: Labels;
}

export class FilterError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/** "k=v" (or "k", an empty value), repeatable; later ones win. */
export function parseLabels(specs: string[] = []): Labels {
  const labels: Labels = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const key = eq < 0 ? spec : spec.slice(0, eq);
    if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(key)) throw new FilterError(`invalid label ${JSON.stringify(spec)}`, 'use --label KEY=VALUE (KEY of letters, digits, . _ / -)');
    labels[key] = eq < 0 ? '' : spec.slice(eq + 1);
  }
  return labels;
}

/** Labels as flags give them, or already parsed (the library takes both). */
export function toLabels(spec: string[] | Labels | undefined): Labels {
  return Array.isArray(spec) || spec === undefined ? parseLabels(spec) : spec;
}

type Matcher = (x: Filterable) => boolean;

function matcher(spec: string): Matcher {
  const eq = spec.indexOf('=');
  const [kind, value] = eq < 0 ? [spec, ''] : [spec.slice(0, eq), spec.slice(eq + 1)];
  switch (kind) {
    case 'label': {
      const e = value.indexOf('=');
      const [k, v] = e < 0 ? [value, undefined] : [value.slice(0, e), value.slice(e + 1)];
      if (!k) break;
      return (x) => !!x.labels && Object.hasOwn(x.labels, k) && (v === undefined || x.labels[k] === v);
    }
    case 'name':
      if (!value) break;
      return (x) => x.name.includes(value);
    case 'status':
      if (!value) break;
      return (x) => x.status === value;
  }
  throw new FilterError(`invalid filter ${JSON.stringify(spec)}`, 'use --filter label=KEY[=VALUE], name=TEXT or status=STATE');
}

/** Every filter must match (podman ANDs different keys; so do we, for all). */
export function compileFilters(specs: string[] = []): Matcher {
  const all = specs.map(matcher);
  return (x) => all.every((m) => m(x));
}
