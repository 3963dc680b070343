// Pure: turns the OpenAPI v3 schema of a CRD version into TypeScript source (interfaces + a @kubernetes-models Model
// class per kind). The CRD YAML in crds/ stays the single source of truth; gen.ts does the file I/O.

export interface JSONSchema {
  type?: string;
  description?: string;
  properties?: Record<string, JSONSchema>;
  required?: string[];
  items?: JSONSchema;
  additionalProperties?: JSONSchema | boolean;
  enum?: unknown[];
  default?: unknown;
  format?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  [key: string]: unknown;
}

export interface CrdInput {
  group: string;
  version: string;
  kind: string;
  schema: JSONSchema;
}

const pascal = (key: string): string =>
  key
    .split(/[_\-.]/)
    .filter((p) => p.length > 0)
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join('');

function doc(description: string | undefined, indent: string): string {
  if (!description) return '';
  const text = description.replace(/\*\//g, '*\\/').trim();
  return `${indent}/** ${text} */\n`;
}

class Emitter {
  readonly decls: string[] = [];

  typeOf(schema: JSONSchema, name: string): string {
    if (schema['x-kubernetes-int-or-string']) return 'number | string';
    if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
    switch (schema.type) {
      case 'string':
        return 'string';
      case 'integer':
      case 'number':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'array':
        if (!schema.items) throw new Error(`${name}: array schema without items`);
        return `Array<${this.typeOf(schema.items, `${name}Item`)}>`;
      case 'object':
      case undefined: {
        if (schema.properties) {
          this.emitInterface(schema, name);
          return name;
        }
        if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
          return `Record<string, ${this.typeOf(schema.additionalProperties, `${name}Value`)}>`;
        }
        // preserve-unknown-fields objects (the pod template) are typed by their consumer.
        return 'Record<string, unknown>';
      }
      default:
        throw new Error(`${name}: unsupported schema type ${String(schema.type)}`);
    }
  }

  emitInterface(schema: JSONSchema, name: string): void {
    const required = new Set(schema.required ?? []);
    const lines: string[] = [];
    for (const [key, prop] of Object.entries(schema.properties ?? {})) {
      const t = this.typeOf(prop, `${name}${pascal(key)}`);
      const def = prop.default !== undefined ? ` Default: ${JSON.stringify(prop.default)}.` : '';
      lines.push(doc((prop.description ?? '') + def, '  ') + `  ${JSON.stringify(key)}${required.has(key) ? '' : '?'}: ${t};`);
    }
    this.decls.push(`${doc(schema.description, '')}export interface ${name} {\n${lines.join('\n')}\n}\n`);
  }
}

/** TypeScript source for one CRD: `I<Kind>` (+ nested interfaces), class `<Kind>`, and its JSON schema. */
export function crdToTs(crd: CrdInput): string {
  const { kind, group, version, schema } = crd;
  const e = new Emitter();
  const props = schema.properties ?? {};
  const fields: string[] = [];
  for (const key of ['spec', 'status']) {
    const sub = props[key];
    if (!sub) continue;
    const t = e.typeOf(sub, `I${kind}${pascal(key)}`);
    fields.push(doc(sub.description, '  ') + `  ${JSON.stringify(key)}${schema.required?.includes(key) ? '' : '?'}: ${t};`);
  }
  const apiVersion = `${group}/${version}`;
  const body = [
    ...e.decls,
    `${doc(schema.description, '')}export interface I${kind} extends TypeMeta {`,
    `  "apiVersion": ${JSON.stringify(apiVersion)};`,
    `  "kind": ${JSON.stringify(kind)};`,
    `  "metadata"?: IObjectMeta;`,
    ...fields,
    `}\n`,
    `export class ${kind} extends Model<I${kind}> implements I${kind} {`,
    `  declare "apiVersion": I${kind}["apiVersion"];`,
    `  declare "kind": I${kind}["kind"];`,
    `  declare "metadata"?: IObjectMeta;`,
    ...Object.keys(props)
      .filter((k) => k === 'spec' || k === 'status')
      .map((k) => `  declare ${JSON.stringify(k)}${schema.required?.includes(k) ? '' : '?'}: I${kind}[${JSON.stringify(k)}];`),
    `  static readonly apiVersion = ${JSON.stringify(apiVersion)};`,
    `  static readonly kind = ${JSON.stringify(kind)};`,
    `  static readonly is = createTypeMetaGuard<I${kind}>({ apiVersion: ${JSON.stringify(apiVersion)}, kind: ${JSON.stringify(kind)} });`,
    `  constructor(data?: ModelData<I${kind}>) {`,
    `    super({ apiVersion: ${JSON.stringify(apiVersion)}, kind: ${JSON.stringify(kind)}, ...data } as ModelData<I${kind}>);`,
    `  }`,
    `}\n`,
    `/** The openAPIV3Schema of ${kind} ${version}, for defaulting and tests. */`,
    `export const ${kind}Schema: JSONSchema = ${JSON.stringify(schema, null, 2)};\n`,
  ];
  return body.join('\n');
}

export const HEADER = `// GENERATED from crds/*.yaml by operator/api/gen.ts. Do not edit: change the CRD, then run
//   node dist/operator/api/gen.js           (write)
//   node dist/operator/api/gen.js --check   (fail on drift; part of make verify)
/* eslint-disable */
import { Model, createTypeMetaGuard, type ModelData, type TypeMeta } from '@kubernetes-models/base';
import type { IObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';
import type { JSONSchema } from './schema-to-ts.js';
`;
