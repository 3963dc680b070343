// The resources a user meets first: every YAML document under examples/ and every moe.io YAML block in README.md.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';

export interface ExampleResource {
  /** examples/… or README.md */
  source: string;
  /** The document as YAML text, to apply. */
  text: string;
  doc: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec?: any };
}

export function exampleResources(root: string): ExampleResource[] {
  const out: ExampleResource[] = [];
  const walk = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));
  const add = (source: string, text: string) => {
    for (const d of parseAllDocuments(text)) {
      const doc = d.toJS();
      if (doc && typeof doc === 'object' && typeof doc.kind === 'string') out.push({ source, text: d.toString(), doc });
    }
  };
  for (const f of walk(join(root, 'examples')).filter((f) => /\.ya?ml$/.test(f)).sort()) add(relative(root, f), readFileSync(f, 'utf8'));
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  for (const m of readme.matchAll(/^```yaml\n([\s\S]*?)^```/gm)) if (/^apiVersion: moe\.io\//m.test(m[1]!)) add('README.md', m[1]!);
  return out;
}
