// Pure: fills in the `default`s of an OpenAPI v3 schema the way the API server does (structural defaulting), so unit
// tests and the operator see the same object whether it came from the server or was built by hand.
import type { JSONSchema } from './schema-to-ts.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Returns a defaulted deep copy of `value`; never mutates its input. */
export function applyDefaults<T>(schema: JSONSchema, value: T): T {
  return fill(schema, structuredClone(value)) as T;
}

function fill(schema: JSONSchema, value: unknown): unknown {
  if (schema.type === 'array' && Array.isArray(value) && schema.items) {
    const items = schema.items;
    return value.map((v) => fill(items, v));
  }
  if (!isObject(value)) return value;
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    if (value[key] === undefined && prop.default !== undefined) value[key] = structuredClone(prop.default);
    if (value[key] !== undefined) value[key] = fill(prop, value[key]);
  }
  if (isObject(schema.additionalProperties)) {
    const ap = schema.additionalProperties;
    for (const key of Object.keys(value)) if (!(key in (schema.properties ?? {}))) value[key] = fill(ap, value[key]);
  }
  return value;
}
