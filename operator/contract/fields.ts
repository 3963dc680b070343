// Field checks for the contract's parsers (pure). Every error names where the message came from (`source`: a
// ConfigMap key, a file, an env variable) and the field, so that a pod's log or an event says what to fix.

export type Fields = Record<string, unknown>;

const shown = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));

/** Throws `<source>: <field> must be <what>, got <value>`. */
export function fail(source: string, field: string, what: string, got: unknown): never {
  throw new Error(`${source}: ${field} must be ${what}, got ${shown(got)}`);
}

/** `field` of `prefix` as the message names it: `checkpoint.dir`, `phy2log[3]`. */
export const at = (prefix: string, key: string | number): string =>
  typeof key === 'number' ? `${prefix}[${key}]` : prefix ? `${prefix}.${key}` : key;

/** The JSON text as a value; `expected` says what the message looks like. */
export function parseJson(text: string, source: string, expected: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON (${(e as Error).message}); expected ${expected}`);
  }
}

export const isObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);

export function object(v: unknown, source: string, field: string): Fields {
  if (!isObject(v)) fail(source, field || 'the message', 'a JSON object', v);
  return v;
}

export function int(v: unknown, source: string, field: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(source, field, `an integer >= ${min}`, v);
  return v;
}

export function finite(v: unknown, source: string, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(source, field, 'a finite number', v);
  return v;
}

export function string(v: unknown, source: string, field: string, nonEmpty = false): string {
  if (typeof v !== 'string' || (nonEmpty && !v.length)) fail(source, field, nonEmpty ? 'a non-empty string' : 'a string', v);
  return v;
}

export function integer(v: unknown, source: string, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(source, field, 'an integer', v);
  return v;
}

/**
 * Rows of numbers, each checked by `cell`. `nonEmpty`: at least one row and no empty row; `rectangular`: every row as
 * long as the first.
 */
export function matrix(v: unknown, source: string, field: string, cell: (x: unknown, field: string) => number,
  o: { nonEmpty?: boolean; rectangular?: boolean } = {}): number[][] {
  if (!Array.isArray(v) || (o.nonEmpty && !v.length)) fail(source, field, `${o.nonEmpty ? 'a non-empty ' : 'an '}array of rows of numbers`, v);
  const width = Array.isArray(v[0]) ? v[0].length : 0;
  v.forEach((row, i) => {
    if (!Array.isArray(row) || (o.nonEmpty && !row.length)) fail(source, at(field, i), `${o.nonEmpty ? 'a non-empty ' : 'an '}array of numbers`, row);
    if (o.rectangular && row.length !== width) fail(source, at(field, i), `as long as ${at(field, 0)} (${width})`, row.length);
    row.forEach((x: unknown, j: number) => cell(x, at(at(field, i), j)));
  });
  return v as number[][];
}

/** `o[key]` through `check` when present; undefined when absent. */
export function optional<T>(o: Fields, key: string, check: (v: unknown) => T): T | undefined {
  return o[key] === undefined ? undefined : check(o[key]);
}
