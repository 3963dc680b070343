import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { generate } from '../../../operator/api/gen.js';
import { applyDefaults, MoETrainingJob, MoETrainingJobSchema, ClusterTopologySchema, ConditionType, Phase } from '../../../operator/api/index.js';

const root = process.cwd();

test('the committed types.gen.ts matches what the generator makes from crds/', () => {
  const committed = readFileSync(join(root, 'operator/api/types.gen.ts'), 'utf8');
  assert.equal(generate(root), committed, 'run: node dist/operator/api/gen.js');
});

test('schema defaults fill an empty spec the way the API server would', () => {
  const spec = applyDefaults(MoETrainingJobSchema.properties!.spec!, { model: { preset: 'deepseek-v3-tiny' }, parallelism: {} });
  const s = spec as Record<string, any>;
  assert.deepEqual(s.parallelism, { pipeline: { stages: 1, schedule: '1F1B', microBatches: 1 }, expert: 1, data: 1, tensor: 1, gpusPerPod: 8 });
  assert.equal(s.failurePolicy.maxRestarts, 3);
  assert.deepEqual(s.failurePolicy.backoff, { initialSeconds: 10, maxSeconds: 300 });
  assert.equal(s.topologyRef.name, 'default');
  assert.equal(s.precision.format, 'e4m3');
  assert.equal(s.suspend, false);
  assert.equal(s.cleanPodPolicy, 'Running');
});

test('defaults keep what the user set and never mutate the input', () => {
  const input = { model: { preset: 'deepseek-v3-tiny' }, parallelism: { expert: 4, pipeline: { stages: 2 } } };
  const before = structuredClone(input);
  const out = applyDefaults(MoETrainingJobSchema.properties!.spec!, input) as Record<string, any>;
  assert.deepEqual(input, before);
  assert.equal(out.parallelism.expert, 4);
  assert.equal(out.parallelism.pipeline.stages, 2);
  assert.equal(out.parallelism.pipeline.schedule, '1F1B');
});

test('the Model class carries apiVersion and kind', () => {
  const j = new MoETrainingJob({ metadata: { name: 'a' }, spec: { model: { preset: 'deepseek-v3-tiny' }, parallelism: {} } });
  const json = j.toJSON() as Record<string, unknown>;
  assert.equal(json.apiVersion, 'moe.io/v1alpha1');
  assert.equal(json.kind, 'MoETrainingJob');
  assert.ok(MoETrainingJob.is(json));
});

test('condition types and phases named in constants are the ones the CRD documents and allows', () => {
  const crd = parse(readFileSync(join(root, 'crds/moe.io_moetrainingjobs.yaml'), 'utf8'));
  const status = crd.spec.versions[0].schema.openAPIV3Schema.properties.status;
  assert.deepEqual([...status.properties.phase.enum].sort(), Object.values(Phase).sort());
  for (const t of Object.values(ConditionType)) assert.match(status.properties.conditions.description, new RegExp(`\\b${t}\\b`));
  assert.equal(ClusterTopologySchema.properties!.spec!.properties!.gpuResource!.default, 'nvidia.com/gpu');
});

test('every schema property has a description (kubectl explain teaches the API)', () => {
  const missing: string[] = [];
  const walk = (s: any, path: string) => {
    for (const [k, v] of Object.entries<any>(s.properties ?? {})) {
      if (k !== 'metadata' && !v.description) missing.push(`${path}.${k}`);
      walk(v, `${path}.${k}`);
      if (v.items) walk(v.items, `${path}.${k}[]`);
    }
  };
  walk(MoETrainingJobSchema, 'MoETrainingJob');
  walk(ClusterTopologySchema, 'ClusterTopology');
  assert.deepEqual(missing, []);
});
