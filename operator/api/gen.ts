// Regenerates operator/api/types.gen.ts from crds/*.yaml; `--check` exits 1 when the committed file has drifted.
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { HEADER, crdToTs, type JSONSchema } from './schema-to-ts.js';

interface CrdDoc {
  spec: { group: string; names: { kind: string }; versions: Array<{ name: string; schema: { openAPIV3Schema: JSONSchema } }> };
}

export function generate(root: string): string {
  const dir = join(root, 'crds');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
  const parts = [HEADER];
  for (const f of files) {
    const crd = parse(readFileSync(join(dir, f), 'utf8')) as CrdDoc;
    for (const v of crd.spec.versions) {
      parts.push(`// ---- ${f} (${v.name}) ----\n`);
      parts.push(crdToTs({ group: crd.spec.group, version: v.name, kind: crd.spec.names.kind, schema: v.schema.openAPIV3Schema }));
    }
  }
  return parts.join('\n');
}

function main(): void {
  const root = resolve(process.env.MOE_ROOT ?? process.cwd());
  const out = join(root, 'operator/api/types.gen.ts');
  const text = generate(root);
  if (process.argv.includes('--check')) {
    const old = existsSync(out) ? readFileSync(out, 'utf8') : '';
    if (old !== text) {
      console.error(`${out} is out of date with crds/; run: node dist/operator/api/gen.js`);
      process.exit(1);
    }
    console.log('operator/api/types.gen.ts matches crds/');
    return;
  }
  writeFileSync(out, text);
  console.log(`wrote ${out}`);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
