// MoEEvaluation against a real control plane (etcd, kube-apiserver, scheduler, controller-manager) and a small KWOK
// fleet. The evaluation controller runs in-process with the chart's least-privilege RBAC. Pods do not run here, so
// the test plays the evaluation pod (it patches the report ConfigMap as the pod's own ServiceAccount, and the pod's
// phase and exit code) and the targets (an InferenceDeployment's and a MoETrainingJob's status, with no controller
// of theirs running).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EvalController } from '../../../operator/controllers/eval/setup.js';
import { FIELD_MANAGER } from '../../../operator/api/constants.js';
import { makeLogger, silentLogger } from '../../../operator/kube/log.js';
import { OperatorMetrics } from '../../../operator/kube/metrics.js';
import { KubeClient } from '../../../operator/kube/rest.js';
import { parseEvalPlan } from '../../../operator/contract/index.js';
import { startCluster, type LocalCluster } from '../../cluster/index.js';
import { lintExposition } from '../../util/promlint.js';
import { eventually } from '../../util/poll.js';
import { applyYaml, chartRbacKubeConfig, installCrds, json } from './harness.js';

let c: LocalCluster;
let op: EvalController;
let metrics: OperatorMetrics;
const NS = 'evals';

const evaluation = async (name: string) => json(c, ['-n', NS, 'get', 'moeeval', name]);
const cond = (o: any, type: string) => o.status?.conditions?.find((x: any) => x.type === type);
const podsOf = async (name: string) => (await json<{ items: any[] }>(c, ['-n', NS, 'get', 'pods', '-l', `moe.io/evaluation-name=${name}`])).items.filter((p) => !p.metadata.deletionTimestamp);

function evalYaml(name: string, target: string, tasks = TASKS, extra = ''): string {
  return `apiVersion: moe.io/v1alpha1
kind: MoEEvaluation
metadata: {name: ${name}, namespace: ${NS}}
spec:
  target:
${target.replace(/^/gm, '    ')}
  tasks:
${tasks.replace(/^/gm, '  ')}
  template:
    spec:
      containers:
      - {name: eval, image: moe-runtime:test, command: [moe-runtime]}
${extra}`;
}

const TASKS = `- name: mmlu
  type: multiple_choice
  source: {configMap: {name: tasks, key: mmlu.jsonl}}
- name: gsm8k
  type: generate
  source: {path: /data/gsm8k.jsonl}
  maxTokens: 64`;

/** Plays the evaluation pod: the result, patched as the pod's ServiceAccount, then the pod's end. */
async function finish(name: string, pod: string, o: { exitCode: number; score?: number; step?: number; message?: string }): Promise<void> {
  if (o.score !== undefined) {
    const result = {
      ...(o.step !== undefined ? { checkpoint: { step: o.step, uri: `file:///ckpt/${NS}/tj/checkpoints/step-${o.step}` } } : {}),
      scores: [
        { name: 'mmlu', type: 'multiple_choice', metric: 'accuracy', score: o.score, stderr: 0.05, n: 100 },
        { name: 'gsm8k', type: 'generate', metric: 'exact_match', score: o.score / 2, stderr: 0.04, n: 50 },
      ],
      startedAt: new Date().toISOString(),
      finishedAt: new Date().toISOString(),
    };
    await c.kubectl(['-n', NS, 'patch', 'configmap', `${name}-eval-report`, '--type=merge', '-p', JSON.stringify({ data: { result: JSON.stringify(result) } }), `--as=system:serviceaccount:${NS}:${name}-eval`]);
  }
  const terminated = { exitCode: o.exitCode, reason: o.exitCode ? 'Error' : 'Completed', finishedAt: new Date().toISOString(), ...(o.message ? { message: o.message } : {}) };
  const status = { status: { phase: o.exitCode ? 'Failed' : 'Succeeded', containerStatuses: [{ name: 'eval', image: 'moe-runtime:test', imageID: '', ready: false, restartCount: 0, state: { terminated } }] } };
  await c.kubectl(['-n', NS, 'patch', 'pod', pod, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
}

async function refusal(yaml: string): Promise<string> {
  try {
    await c.kubectl(['apply', '-f', '-'], yaml);
  } catch (e) {
    return (e as Error).message;
  }
  assert.fail('the API server accepted it');
}

before(async () => {
  c = await startCluster({ fleet: { spines: 1, leavesPerSpine: 1, nodesPerLeaf: 2, gpusPerNode: 8 }, runnerNodes: 0 });
  await installCrds(c);
  await c.kubectl(['create', 'namespace', NS]);
  await c.kubectl(['-n', NS, 'create', 'configmap', 'tasks', '--from-literal=mmlu.jsonl={"question":"2+2?","choices":["3","4"],"answer":1}']);
  const kc = await chartRbacKubeConfig(c);
  metrics = new OperatorMetrics(false);
  op = new EvalController({ kc, client: new KubeClient(kc, FIELD_MANAGER), metrics, log: process.env.MOE_TEST_LOG ? makeLogger('debug') : silentLogger(), resyncMs: 5_000 });
  await op.sync();
  op.run();
});

after(async () => {
  await op?.stop();
  await c?.stop();
});

describe('MoEEvaluation on a real API server', () => {
  const bad: Array<[string, string, RegExp]> = [
    ['two targets', evalYaml('bad', 'inferenceDeployment: tiny\ncheckpoint: file:///models/tiny'), /target must set exactly one of target.inferenceDeployment, target.checkpoint or target.trainingJob/],
    ['no tasks', evalYaml('bad', 'checkpoint: file:///models/tiny', '[]').replace('tasks:\n  []', 'tasks: []'), /spec.tasks: Invalid value: 0: spec.tasks in body should have at least 1 items/],
    ['a bad task type', evalYaml('bad', 'checkpoint: file:///models/tiny', '- {name: a, type: essay, source: {path: /a.jsonl}}'), /spec.tasks\[0\].type: Unsupported value: "essay": supported values: "multiple_choice", "generate", "code"/],
    ['k above samples', evalYaml('bad', 'checkpoint: file:///models/tiny', '- {name: c, type: code, source: {path: /c.jsonl}, samples: 2, k: [1, 5]}'), /tasks\[\]\.k must be at most tasks\[\]\.samples .*raise samples or lower k/],
    ['a relative task path', evalYaml('bad', 'checkpoint: file:///models/tiny', '- {name: a, type: generate, source: {path: a.jsonl}}'), /tasks\[\]\.source\.path must be an absolute path/],
    ['a checkpoint that is not file://', evalYaml('bad', 'checkpoint: s3://b/m'), /target\.checkpoint must be an absolute file:\/\/ URI/],
  ];
  for (const [what, yaml, want] of bad) {
    test(`the API server refuses ${what}, naming the field and the fix`, async () => {
      assert.match(await refusal(yaml), want);
    });
  }

  test('an InferenceDeployment target: waits for it, then the plan ConfigMap and the pod; a report becomes status.results and metrics', async () => {
    await applyYaml(c, evalYaml('api', 'inferenceDeployment: tiny'));
    let e = await eventually(async () => {
      const x = await evaluation('api');
      return cond(x, 'TargetReady')?.reason === 'DeploymentNotFound' ? x : false;
    }, { what: 'TargetReady=False DeploymentNotFound' });
    assert.equal(e.status.phase, 'Pending');
    await applyYaml(c, `apiVersion: moe.io/v1alpha1
kind: InferenceDeployment
metadata: {name: tiny, namespace: ${NS}}
spec:
  model: {checkpoint: {uri: file:///models/tiny}, architecture: {preset: deepseek-v3-tiny}}
  router: {port: 9000}
  servedModelName: tiny-chat
  roles:
    prefill: {replicas: 1, podsPerReplica: 1, gpusPerPod: 8}
    decode: {replicas: 1, podsPerReplica: 1, gpusPerPod: 8}
`);
    await c.kubectl(['-n', NS, 'patch', 'infd', 'tiny', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Available"}}']);
    e = await eventually(async () => {
      const x = await evaluation('api');
      return x.status?.phase === 'Running' ? x : false;
    }, { what: 'Running' });
    assert.equal(e.status.run.pod, 'api-eval-0');
    const cm = await json(c, ['-n', NS, 'get', 'configmap', 'api-eval']);
    const plan = parseEvalPlan(cm.data['plan.json']);
    assert.deepEqual(plan.target, { kind: 'api', baseUrl: `http://tiny.${NS}.svc:9000/v1`, model: 'tiny-chat' });
    assert.deepEqual(plan.tasks.map((t) => t.file), ['/etc/moe/eval-tasks/0/mmlu.jsonl', '/data/gsm8k.jsonl']);
    const [p] = await podsOf('api');
    assert.equal(p.metadata.name, 'api-eval-0');
    assert.deepEqual(p.spec.containers[0].args, ['eval']);
    assert.equal(p.spec.serviceAccountName, 'api-eval');
    assert.deepEqual(p.metadata.ownerReferences.map((o: any) => `${o.kind}/${o.name}/${o.controller}`), ['MoEEvaluation/api/true']);
    // Least privilege: the pod's ServiceAccount may patch its report and nothing else.
    const can = (verb: string, what: string) => c.kubectl(['auth', 'can-i', verb, what, '-n', NS, `--as=system:serviceaccount:${NS}:api-eval`]).then(() => true, () => false);
    assert.equal(await can('patch', 'configmaps/api-eval-report'), true);
    assert.equal(await can('patch', 'configmaps/api-eval'), false);
    assert.equal(await can('get', 'pods'), false);

    await finish('api', 'api-eval-0', { exitCode: 0, score: 0.75 });
    e = await eventually(async () => {
      const x = await evaluation('api');
      return x.status?.phase === 'Succeeded' ? x : false;
    }, { what: 'Succeeded' });
    assert.equal(cond(e, 'Complete').status, 'True');
    assert.equal(cond(e, 'ModelReachable').status, 'True');
    assert.deepEqual(e.status.results[0].scores.map((s: any) => [s.name, s.metric, s.score, s.stderr, s.n]), [['mmlu', 'accuracy', 0.75, 0.05, 100], ['gsm8k', 'exact_match', 0.375, 0.04, 50]]);
    assert.deepEqual(e.status.latest, { task: 'mmlu', metric: 'accuracy', score: 0.75 });
    // Printer columns: phase, the first task's latest score.
    const table = await c.kubectl(['-n', NS, 'get', 'moeeval', 'api']);
    assert.match(table, /NAME\s+PHASE\s+TASK\s+SCORE\s+AGE\napi\s+Succeeded\s+mmlu\s+0\.75\s+/);
    const text = await metrics.registry.metrics();
    assert.match(text, new RegExp(`moe_eval_score\\{namespace="${NS}",evaluation="api",task="mmlu",metric="accuracy"\\} 0.75`));
    assert.match(text, new RegExp(`moe_eval_score_stderr\\{namespace="${NS}",evaluation="api",task="gsm8k",metric="exact_match"\\} 0.04`));
    assert.deepEqual(lintExposition(text), []);
    // Deleting the evaluation removes its series.
    await c.kubectl(['-n', NS, 'delete', 'moeeval', 'api']);
    await eventually(async () => !(await metrics.registry.metrics()).includes('evaluation="api"') || false, { what: 'series of api removed' });
  });

  test('a pod that exits with the unreachable code → ModelReachable=False with its message, phase Failed', async () => {
    await applyYaml(c, evalYaml('down', 'checkpoint: file:///models/tiny'));
    await eventually(async () => (await podsOf('down')).length === 1 || false, { what: 'pod down-eval-0' });
    const msg = 'file:///models/tiny: no config.json in /models/tiny (mount the model folder through spec.template)';
    await finish('down', 'down-eval-0', { exitCode: 3, message: msg });
    const e = await eventually(async () => {
      const x = await evaluation('down');
      return x.status?.phase === 'Failed' ? x : false;
    }, { what: 'Failed' });
    assert.equal(cond(e, 'ModelReachable').status, 'False');
    assert.equal(cond(e, 'ModelReachable').reason, 'ModelUnreachable');
    assert.equal(cond(e, 'ModelReachable').message, `pod down-eval-0 (exit code 3): ${msg}`);
    assert.equal(cond(e, 'Failed').reason, 'ModelUnreachable');
    // No second pod: a failure stays until the spec changes.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await podsOf('down')).length, 1);
  });

  test('a trainingJob target: one evaluation per Nth new checkpoint, one pod at a time, then the final export', async () => {
    await applyYaml(c, `apiVersion: moe.io/v1alpha1
kind: MoETrainingJob
metadata: {name: tj, namespace: ${NS}}
spec:
  model: {preset: deepseek-v3-tiny}
  checkpoint: {uri: file:///ckpt}
  parallelism:
    pipeline: {stages: 1, schedule: 1F1B, microBatches: 1}
    expert: 8
    gpusPerPod: 8
`);
    await applyYaml(c, evalYaml('every2', 'trainingJob: {name: tj, everyNthCheckpoint: 2}'));
    const report = (step: number, phase = 'Running') => c.kubectl(['-n', NS, 'patch', 'mtj', 'tj', '--subresource=status', '--type=merge', '-p',
      JSON.stringify({ status: { phase, progress: { step }, checkpoints: { latest: { step, uri: `file:///ckpt/${NS}/tj/checkpoints/step-${step}`, time: new Date().toISOString() } } } })]);
    const seen = async (n: number) => eventually(async () => {
      const x = await evaluation('every2');
      return x.status?.training?.seen === n ? x : false;
    }, { what: `${n} checkpoints seen` });
    await report(100);
    let e = await seen(1);
    assert.equal(e.status.phase, 'Running');
    assert.equal(cond(e, 'Complete').reason, 'WaitingForCheckpoints');
    assert.equal((await podsOf('every2')).length, 0);
    await report(200);
    e = await eventually(async () => {
      const x = await evaluation('every2');
      return x.status?.run?.pod === 'every2-eval-0' ? x : false;
    }, { what: 'run 0 for step 200' });
    assert.deepEqual(e.status.run.checkpoint, { step: 200, uri: `file:///ckpt/${NS}/tj/checkpoints/step-200` });
    assert.deepEqual(parseEvalPlan((await json(c, ['-n', NS, 'get', 'configmap', 'every2-eval'])).data['plan.json']).target, { kind: 'model', path: `/ckpt/${NS}/tj/checkpoints/step-200` });
    // 300 (not the 2nd) and 400 (the 4th) arrive while run 0 is still going: no second pod.
    await report(300);
    await seen(3);
    await report(400);
    e = await seen(4);
    assert.deepEqual(e.status.training.queued.map((q: any) => q.step), [400]);
    assert.deepEqual((await podsOf('every2')).map((p) => p.metadata.name), ['every2-eval-0']);
    await finish('every2', 'every2-eval-0', { exitCode: 0, score: 0.5, step: 200 });
    e = await eventually(async () => {
      const x = await evaluation('every2');
      return x.status?.run?.pod === 'every2-eval-1' ? x : false;
    }, { what: 'run 1 for step 400' });
    assert.deepEqual(e.status.results.map((r: any) => r.checkpoint.step), [200]);
    // The report was cleared for run 1: run 0's result is not taken for it.
    assert.equal((await json(c, ['-n', NS, 'get', 'configmap', 'every2-eval-report'])).data?.result, undefined);
    // The job succeeds: step 400's run, then the final export's.
    await report(450, 'Succeeded');
    await finish('every2', 'every2-eval-1', { exitCode: 0, score: 0.6, step: 400 });
    e = await eventually(async () => {
      const x = await evaluation('every2');
      return x.status?.run?.pod === 'every2-eval-2' ? x : false;
    }, { what: 'run 2 for the export' });
    assert.deepEqual(e.status.run.checkpoint, { step: 450, uri: `file:///ckpt/${NS}/tj/export` });
    assert.equal(e.status.phase, 'Running');
    await finish('every2', 'every2-eval-2', { exitCode: 0, score: 0.7, step: 450 });
    e = await eventually(async () => {
      const x = await evaluation('every2');
      return x.status?.phase === 'Succeeded' ? x : false;
    }, { what: 'Succeeded after the export' });
    assert.deepEqual(e.status.results.map((r: any) => [r.checkpoint.step, r.scores[0].score]), [[200, 0.5], [400, 0.6], [450, 0.7]]);
    assert.deepEqual(e.status.latest, { task: 'mmlu', metric: 'accuracy', score: 0.7, step: 450 });
  });
});
