// The part of Go's text/template that `inspect --format` users write:
// {{.Field.Sub}}, {{json .Field}}, and literal text around them. Pure.

export class TemplateError extends Error {}

function lookUp(value: unknown, path: string): unknown {
  if (path === '.') return value;
  let v = value;
  for (const key of path.slice(1).split('.')) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, key)) throw new TemplateError(`can't evaluate field ${key} in ${path}`);
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function show(v: unknown): string {
  if (v === null || v === undefined) return '<no value>';
  if (Array.isArray(v)) return `[${v.map(show).join(' ')}]`;
  if (typeof v === 'object') return `map[${Object.entries(v as object).map(([k, x]) => `${k}:${show(x)}`).join(' ')}]`;
  return String(v);
}

export function renderTemplate(template: string, value: unknown): string {
  return template.replace(/\{\{\s*(.*?)\s*\}\}/g, (_, action: string) => {
    const json = /^json\s+(\.\S*)$/.exec(action);
    if (json) return JSON.stringify(lookUp(value, json[1]!));
    if (/^\.\S*$/.test(action)) return show(lookUp(value, action));
    throw new TemplateError(`unsupported template action {{${action}}}`);
  });
}
