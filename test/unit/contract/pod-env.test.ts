// The pod contract's names (operator/contract/pod-env.ts, configmaps.ts) are the wire names, written out here by hand:
// changing one is an API change. Every variable the operator sets is one of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { RankEnv, ServeEnv, TrainEnv } from '../../../operator/contract/pod-env.js';
import { LoadConfigMap, PlacementConfigMap, PlanConfigMap, ReportConfigMap, RoutingConfigMap } from '../../../operator/contract/configmaps.js';
import { contractEnv } from '../../../operator/controllers/mtj/desired.js';
import { roleEnv, routerEnv } from '../../../operator/controllers/infd/desired.js';
import { roleShape } from '../../../operator/controllers/infd/spec.js';
import { makeJob, makePlan } from '../controllers/fixtures.js';
import { makeDeployment } from '../controllers/infd-fixtures.js';

test('env names', () => {
  assert.deepEqual(Object.values(RankEnv), ['MASTER_ADDR', 'MASTER_PORT', 'WORLD_SIZE', 'RANK', 'NODE_RANK', 'NNODES', 'LOCAL_RANK', 'LOCAL_WORLD_SIZE', 'POD_IP', 'MOE_NAMESPACE']);
  assert.deepEqual(Object.values(TrainEnv), [
    'MOE_PP_RANK', 'MOE_EP_RANK', 'MOE_DP_RANK', 'MOE_TP_RANK', 'MOE_PLAN', 'MOE_JOB', 'MOE_RESTART', 'MOE_CHECKPOINT_DIR', 'MOE_REPORT_CONFIGMAP',
    'MOE_RESUME_FROM', 'MOE_RESUME_STEP', 'MOE_RESUME_URI', 'MOE_INIT_URI',
  ]);
  assert.deepEqual(Object.values(ServeEnv), [
    'MOE_SERVE_ROLE', 'MOE_DEPLOYMENT', 'MOE_POD_NAME', 'MOE_MODEL_PATH', 'MOE_SERVED_MODEL_NAME', 'MOE_SERVE_PORT', 'MOE_REPLICA', 'MOE_POD_INDEX',
    'MOE_PODS_PER_REPLICA', 'MOE_EP_SIZE', 'MOE_MAX_BATCH', 'MOE_MAX_QUEUE', 'MOE_SPECULATIVE_METHOD', 'MOE_SPECULATIVE_TOKENS',
    'MOE_PLACEMENT_CONFIGMAP', 'MOE_LOAD_CONFIGMAP', 'MOE_ROUTING_CONFIGMAP',
  ]);
});

test('ConfigMap names and keys', () => {
  assert.deepEqual([PlanConfigMap.name('a'), PlanConfigMap.key, PlanConfigMap.mountPath], ['a-plan', 'plan.json', '/etc/moe/plan']);
  assert.deepEqual([ReportConfigMap.name('a'), ReportConfigMap.keys], ['a-report', { progress: 'progress', checkpoint: 'checkpoint' }]);
  assert.deepEqual([RoutingConfigMap.name('s'), RoutingConfigMap.key], ['s-routing', 'routes']);
  assert.deepEqual([PlacementConfigMap.name('s'), PlacementConfigMap.stateKey], ['s-placement', 'eplb-state']);
  assert.equal(LoadConfigMap.name('s'), 's-expert-load');
});

test('every variable the operator sets on a pod is named by the contract', () => {
  const known = new Set<string>([...Object.values(RankEnv), ...Object.values(TrainEnv), ...Object.values(ServeEnv)]);
  const ctx = { attempt: 1, resumeStep: 3, resumeUri: 'file:///r/step-3', initUri: 'file:///i', gpuResource: 'nvidia.com/gpu', rdmaResource: 'rdma/ib' };
  const d = makeDeployment('s').obj();
  const serve = { modelUri: 'file:///models/tiny', gpuResource: 'nvidia.com/gpu', rdmaResource: '' };
  const names = [
    ...contractEnv(makeJob('a').obj(), makePlan(2, 4), 1, ctx),
    ...roleEnv(d, roleShape(d, 'decode'), 0, 0, serve),
    ...routerEnv(d, serve),
  ].map((e) => e.name);
  assert.deepEqual(names.filter((n) => !known.has(n)), []);
});

// Issue 13's rule: no variable is set for nothing. The runtime reads each through the contract object
// (`TrainEnv.initUri`) or, in a few places that predate it, by its literal name.
test('every variable of the contract is read somewhere in the runtime', () => {
  const root = new URL('../../../../runtime/src/', import.meta.url).pathname;
  const files = (readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
  const source = files.map((f) => readFileSync(path.join(root, f), 'utf8')).join('\n');
  assert.ok(files.length > 50, `runtime sources not found under ${root}`);
  const unread: string[] = [];
  for (const [obj, names] of Object.entries({ RankEnv, TrainEnv, ServeEnv })) {
    for (const [key, name] of Object.entries(names)) {
      if (!new RegExp(`\\b${obj}\\.${key}\\b|\\b${name}\\b`).test(source)) unread.push(`${obj}.${key} (${name})`);
    }
  }
  assert.deepEqual(unread, [], 'set by the operator and read by no runtime code: read it in the runtime or stop setting it');
});
