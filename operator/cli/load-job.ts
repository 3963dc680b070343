// Reads a YAML file that holds a MoETrainingJob (and optionally a ClusterTopology) into plain objects, with errors that
// name the file, the line and what was expected. I/O lives in moectl.ts; this only parses text.
import { parseAllDocuments } from 'yaml';
import type { TopologySpec } from '../plan/types.js';

export interface LoadedJob {
  name: string;
  spec: Record<string, unknown>;
  /** A ClusterTopology found in the same file, if any. */
  topology?: { name: string; spec: TopologySpec };
}

export class InputError extends Error {}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A file holding only a ClusterTopology (for --topology). */
export function parseTopologyYaml(text: string, file: string): TopologySpec {
  const docs = parseManifests(text, file);
  const topo = docs.find((d) => d.kind === 'ClusterTopology');
  if (!topo) throw new InputError(`${file}: no ClusterTopology found (kind: ClusterTopology, apiVersion: moe.io/v1alpha1)`);
  if (!isObj(topo.spec)) throw new InputError(`${file}: ClusterTopology: spec is missing`);
  return topo.spec as unknown as TopologySpec;
}

function parseManifests(text: string, file: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const doc of parseAllDocuments(text, { prettyErrors: true }) as ReturnType<typeof parseAllDocuments> & unknown[]) {
    if (doc.errors.length) {
      const e = doc.errors[0]!;
      const at = e.linePos?.[0] ? `:${e.linePos[0].line}:${e.linePos[0].col}` : '';
      throw new InputError(`${file}${at}: malformed YAML: ${e.message.split('\n')[0]}`);
    }
    const obj: unknown = doc.toJS();
    if (obj === null || obj === undefined) continue;
    if (!isObj(obj)) throw new InputError(`${file}: each YAML document must be an object with apiVersion and kind`);
    out.push(obj);
  }
  return out;
}

export function parseJobYaml(text: string, file: string): LoadedJob {
  let job: LoadedJob | undefined;
  let topology: LoadedJob['topology'];
  for (const obj of parseManifests(text, file)) {
    const name = isObj(obj.metadata) && typeof obj.metadata.name === 'string' ? obj.metadata.name : '';
    if (obj.kind === 'MoETrainingJob') {
      if (obj.apiVersion !== 'moe.io/v1alpha1') throw new InputError(`${file}: apiVersion: expected moe.io/v1alpha1 for kind MoETrainingJob, got ${JSON.stringify(obj.apiVersion)}`);
      if (job) throw new InputError(`${file}: holds more than one MoETrainingJob; give one per file`);
      if (!isObj(obj.spec)) throw new InputError(`${file}: spec: a MoETrainingJob needs a spec with model and parallelism`);
      job = { name: name || 'job', spec: obj.spec };
    } else if (obj.kind === 'ClusterTopology') {
      if (!isObj(obj.spec)) throw new InputError(`${file}: ClusterTopology ${name}: spec is missing`);
      topology = { name: name || 'default', spec: obj.spec as unknown as TopologySpec };
    } else {
      throw new InputError(`${file}: kind: expected MoETrainingJob (or ClusterTopology), got ${JSON.stringify(obj.kind)}`);
    }
  }
  if (!job) throw new InputError(`${file}: no MoETrainingJob found (kind: MoETrainingJob, apiVersion: moe.io/v1alpha1)`);
  return topology ? { ...job, topology } : job;
}
