// A MoEEvaluation scores a trained model for real: the operator (in-process, the chart's RBAC) creates the evaluation
// pod, the local cluster's process runner runs it as a process (`moe-runtime eval` from dist/, no image), the pod
// loads a checkpoint folder the test trained (mounted through the template as a hostPath), scores a task from a
// ConfigMap, and merge-patches its result into the report ConfigMap with its own ServiceAccount's token; the
// operator turns that into status.results. Needs the native addon (runtime/native), as the runtime does.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EvalController } from '../../../operator/controllers/eval/setup.js';
import { FIELD_MANAGER } from '../../../operator/api/constants.js';
import { makeLogger, silentLogger } from '../../../operator/kube/log.js';
import { OperatorMetrics } from '../../../operator/kube/metrics.js';
import { KubeClient } from '../../../operator/kube/rest.js';
import { saveCheckpoint } from '../../../runtime/src/checkpoint/checkpoint-dirs.js';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { defaultTrainOptions } from '../../../runtime/src/train/options.js';
import { snapshot } from '../../../runtime/src/train/state.js';
import { Trainer } from '../../../runtime/src/train/trainer.js';
import { startCluster, type LocalCluster } from '../../cluster/index.js';
import { eventually } from '../../util/poll.js';
import { microServe } from '../../native/serve/fixtures.js';
import { ROOT, applyYaml, chartRbacKubeConfig, installCrds, json } from './harness.js';

const NS = 'evalrun';
let c: LocalCluster;
let op: EvalController;
let models: string;

before(async () => {
  // A trained model: two steps of a micro DeepSeek-V3-shaped model, checkpointed as the trainer writes run folders.
  models = mkdtempSync(path.join(os.tmpdir(), 'moe-eval-models-'));
  const t = new Trainer(defaultTrainOptions({ overrides: microServe, precision: 'fp32', seqLen: 24, batch: 2, steps: 2 }), byteTokenizer, byteTokenizer.encode('the cat sat on the mat. '.repeat(20)));
  t.trainStep();
  t.trainStep();
  await saveCheckpoint(path.join(models, 'run'), 2, snapshot(t), 3);

  c = await startCluster({ fleet: { spines: 0, leavesPerSpine: 0, nodesPerLeaf: 0, gpusPerNode: 8 }, runnerNodes: 1 });
  await installCrds(c);
  await c.kubectl(['create', 'namespace', NS]);
  await c.kubectl(['-n', NS, 'create', 'configmap', 'tasks', '--from-literal=mc.jsonl={"question":"the cat","choices":["sat","ran"],"answer":0}\n{"question":"on the","choices":["mat","sky"],"answer":0}\n']);
  const kc = await chartRbacKubeConfig(c);
  op = new EvalController({ kc, client: new KubeClient(kc, FIELD_MANAGER), metrics: new OperatorMetrics(false), log: process.env.MOE_TEST_LOG ? makeLogger('debug') : silentLogger(), resyncMs: 5_000 });
  await op.sync();
  op.run();
});

after(async () => {
  await op?.stop();
  await c?.stop();
  if (models) rmSync(models, { recursive: true, force: true });
});

test('the evaluation pod runs moe-runtime eval on a trained checkpoint and its scores reach status.results', { timeout: 240_000 }, async () => {
  await applyYaml(c, `apiVersion: moe.io/v1alpha1
kind: MoEEvaluation
metadata: {name: trained, namespace: ${NS}}
spec:
  target: {checkpoint: file:///models/run}
  tasks:
  - {name: mc, type: multiple_choice, source: {configMap: {name: tasks, key: mc.jsonl}}}
  template:
    spec:
      containers:
      - name: eval
        image: ghcr.io/moe-operator/moe-runtime:0.1.0
        command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(path.join(ROOT, 'dist/runtime/src/cli.js'))}]
        args: [eval, --precision, fp32]
        volumeMounts: [{name: models, mountPath: /models, readOnly: true}]
      volumes:
      - {name: models, hostPath: {path: ${JSON.stringify(models)}}}
`);
  const e = await eventually(async () => {
    const x = await json(c, ['-n', NS, 'get', 'moeeval', 'trained']);
    const failed = x.status?.conditions?.find((k: any) => k.type === 'Failed' && k.status === 'True');
    assert.ok(!failed, `evaluation failed: ${failed?.reason}: ${failed?.message}\n${c.podLog(NS, 'trained-eval-0', 'eval').slice(-2000)}`);
    return x.status?.phase === 'Succeeded' ? x : false;
  }, { timeoutMs: 180_000, intervalMs: 500, what: 'MoEEvaluation trained Succeeded' });
  const scores = e.status.results[0].scores;
  assert.deepEqual(scores.map((s: any) => [s.name, s.metric, s.n]), [['mc', 'accuracy', 2], ['mc', 'acc_norm', 2]]);
  for (const s of scores) assert.ok(s.score >= 0 && s.score <= 1 && s.stderr >= 0, JSON.stringify(s));
  assert.equal(e.status.results[0].target, 'file:///models/run');
  assert.equal(e.status.conditions.find((k: any) => k.type === 'ModelReachable').status, 'True');
  // The pod's own token wrote the result: the report ConfigMap's data.result is managed by the pod's ServiceAccount.
  const cm = await json(c, ['-n', NS, 'get', 'configmap', 'trained-eval-report', '--show-managed-fields']);
  const managers = (cm.metadata.managedFields ?? []).filter((f: any) => JSON.stringify(f.fieldsV1 ?? {}).includes('f:result')).map((f: any) => f.manager);
  assert.ok(managers.length && !managers.includes(FIELD_MANAGER), JSON.stringify(managers));
});
