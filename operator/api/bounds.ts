// Pure: the numeric bounds of a CRD schema (minimum, maximum, integer), checked in the operator too. The API server
// enforces them on create and update, but an object stored under an older CRD, or a preserve-unknown-fields subtree
// (InferenceDeployment spec.model.architecture.config) never met them, and one out-of-range number (2^31 experts,
// 2^31 layers) is enough to exhaust the heap or block the event loop for everyone. Messages name the field and the fix.
import type { JSONSchema } from './schema-to-ts.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every number under `value` that its schema bounds and that falls outside them, as `field: problem; fix`. */
export function numericBoundErrors(schema: JSONSchema, value: unknown, field: string): string[] {
  const errs: string[] = [];
  walk(schema, value, field, errs);
  return errs;
}

function walk(schema: JSONSchema, value: unknown, field: string, errs: string[]): void {
  if (value === undefined || value === null) return;
  if ((schema.type === 'integer' || schema.type === 'number') && typeof value === 'number') {
    const e = boundError(schema, value);
    if (e) errs.push(`${field}: ${e}`);
    return;
  }
  if (schema.type === 'array' && Array.isArray(value) && schema.items) {
    value.forEach((v, i) => walk(schema.items!, v, `${field}[${i}]`, errs));
    return;
  }
  if (!isObject(value)) return;
  for (const [key, prop] of Object.entries(schema.properties ?? {})) walk(prop, value[key], `${field}.${key}`, errs);
  if (isObject(schema.additionalProperties)) {
    const ap = schema.additionalProperties;
    for (const key of Object.keys(value)) if (!(key in (schema.properties ?? {}))) walk(ap, value[key], `${field}.${key}`, errs);
  }
}

function boundError(schema: JSONSchema, v: number): string | undefined {
  const min = typeof schema.minimum === 'number' ? schema.minimum : undefined;
  const max = typeof schema.maximum === 'number' ? schema.maximum : undefined;
  const range = min !== undefined && max !== undefined ? `between ${min} and ${max}` : max !== undefined ? `at most ${max}` : `at least ${min}`;
  if (!Number.isFinite(v)) return `${v} is not a finite number; use a value ${range}`;
  if (schema.type === 'integer' && !Number.isInteger(v)) return `${v} is not a whole number; use a whole number ${range}`;
  if (max !== undefined && (schema.exclusiveMaximum === true ? v >= max : v > max)) {
    return `${v} is above ${max}, the largest value the planner and runtime support; use a value ${range}`;
  }
  if (min !== undefined && (schema.exclusiveMinimum === true ? v <= min : v < min)) return `${v} is below ${min}; use a value ${range}`;
  return undefined;
}
