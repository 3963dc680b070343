// Issue 19 item 10: one out-of-range number took the operator down for everyone (heap exhausted by 2^31 experts, the
// event loop blocked by 2^31 layers) or was planned as if real (hidden_size 1e15). The CRD bounds every number; the
// operator checks the same bounds (objects stored under an older CRD, preserve-unknown-fields subtrees) before any
// work that loops over layers or experts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { numericBoundErrors } from '../../../operator/api/bounds.js';
import { ClusterTopologySchema, InferenceDeploymentSchema, InferenceRoleSchema, MoEEvaluationSchema, MoETrainingJobSchema } from '../../../operator/api/types.gen.js';
import type { JSONSchema } from '../../../operator/api/schema-to-ts.js';
import { resolveArchitecture } from '../../../operator/controllers/infd/model-source.js';
import { validateDeployment } from '../../../operator/controllers/infd/validate.js';
import { MAX_WORLD_SIZE, validateJob } from '../../../operator/controllers/mtj/validate.js';
import { makeJob } from './fixtures.js';
import { makeDeployment } from './infd-fixtures.js';

const DSV3 = { vocab_size: 129280, hidden_size: 7168, num_hidden_layers: 61, num_attention_heads: 128, n_routed_experts: 256, num_experts_per_tok: 8, moe_intermediate_size: 2048, n_group: 8, topk_group: 4 };
const withConfig = (patch: Record<string, number>) =>
  makeJob('big')
    .pipeline(2, 'DualPipe', 4)
    .experts(8)
    .with((j) => (j.spec.model = { config: { ...DSV3, ...patch } } as any))
    .obj();

const cases: Array<[string, Record<string, number>, RegExp]> = [
  ['n_routed_experts: 2147483648 (heap exhausted before)', { n_routed_experts: 2147483648 }, /^spec\.model\.config\.n_routed_experts: 2147483648 is above 16384.*use a value between 1 and 16384/],
  ['num_hidden_layers: 2147483647 (event loop blocked > 150 s before)', { num_hidden_layers: 2147483647 }, /^spec\.model\.config\.num_hidden_layers: 2147483647 is above 1024/],
  ['hidden_size: 1e15 (planned and Running before)', { hidden_size: 1e15 }, /^spec\.model\.config\.hidden_size: 1000000000000000 is above 65536/],
];
for (const [name, patch, want] of cases) {
  test(`a training job with ${name} is Invalid with the field and the fix, found without planning`, { timeout: 5000 }, () => {
    const errs = validateJob(withConfig(patch));
    assert.ok(errs.some((e) => want.test(e)), errs.join('\n'));
  });
}

test('a 30-day restart backoff is outside the schema (a day at most); the timer clamp covers what is left', () => {
  const job = makeJob('slow').with((j) => (j.spec.failurePolicy = { backoff: { initialSeconds: 2_592_000, maxSeconds: 2_592_000 } })).obj();
  const errs = validateJob(job);
  assert.ok(errs.some((e) => e.startsWith('spec.failurePolicy.backoff.initialSeconds: 2592000 is above 86400')), errs.join('\n'));
});

test('a world size above what the planner places is rejected before planning', () => {
  const job = makeJob('huge').with((j) => Object.assign(j.spec.parallelism, { expert: 4096, data: 65536 })).obj();
  const errs = validateJob(job);
  assert.ok(errs.some((e) => e.includes(`above ${MAX_WORLD_SIZE} GPUs`)), errs.join('\n'));
});

test('a job inside the bounds (DeepSeek-V3 shape) has no bound errors', () => {
  assert.deepEqual(numericBoundErrors(MoETrainingJobSchema.properties!.spec!, withConfig({}).spec, 'spec'), []);
});

test('an InferenceDeployment architecture.config (preserve-unknown-fields) gets the same bounds before EPLB uses it', () => {
  const d = makeDeployment('srv').with((x: any) => (x.spec.model.architecture = { config: { ...DSV3, n_routed_experts: 2147483648 } })).obj();
  const a = resolveArchitecture(d, undefined);
  assert.equal(a.model, undefined);
  assert.ok(a.errors.some((e) => e.startsWith('spec.model.architecture.config.n_routed_experts: 2147483648 is above 16384')), a.errors.join('\n'));
});

test('an InferenceDeployment stored under an older CRD is checked against the current bounds', () => {
  const d = makeDeployment('old').with((x: any) => (x.spec.roles.decode.replicas = 1e9)).obj();
  const errs = validateDeployment(d);
  assert.ok(errs.some((e) => e.startsWith('spec.roles.decode.replicas: 1000000000 is above 1024')), errs.join('\n'));
});

test('the checker: whole numbers, exclusive minimum, array items, finite', () => {
  const s: JSONSchema = { type: 'object', properties: { n: { type: 'integer', minimum: 1, maximum: 8 }, g: { type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 10 }, codes: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 255 } } } };
  assert.deepEqual(numericBoundErrors(s, { n: 1.5, g: 0, codes: [1, 256] }, 'x'), [
    'x.n: 1.5 is not a whole number; use a whole number between 1 and 8',
    'x.g: 0 is below 0; use a value between 0 and 10',
    'x.codes[1]: 256 is above 255, the largest value the planner and runtime support; use a value between 0 and 255',
  ]);
});

/** Every integer or number a user writes (spec) has a maximum: a new unbounded field fails here. */
function unbounded(schema: JSONSchema, path: string, out: string[]): string[] {
  if ((schema.type === 'integer' || schema.type === 'number') && schema.enum === undefined && typeof schema.maximum !== 'number') out.push(path);
  for (const [k, p] of Object.entries(schema.properties ?? {})) unbounded(p, `${path}.${k}`, out);
  if (schema.items) unbounded(schema.items, `${path}[]`, out);
  if (typeof schema.additionalProperties === 'object') unbounded(schema.additionalProperties, `${path}.*`, out);
  return out;
}
test('every numeric spec field of every CRD has a maximum', () => {
  const all = { ClusterTopology: ClusterTopologySchema, MoETrainingJob: MoETrainingJobSchema, InferenceDeployment: InferenceDeploymentSchema, InferenceRole: InferenceRoleSchema, MoEEvaluation: MoEEvaluationSchema };
  for (const [kind, s] of Object.entries(all)) assert.deepEqual(unbounded(s.properties!.spec!, 'spec', []), [], `${kind}: unbounded numeric fields`);
});
