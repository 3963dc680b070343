// GRPO judges against a real API server (issue 13 §3): a job whose judge InferenceDeployment is missing or not serving
// waits with JudgeUnavailable (naming it), starts once the deployment is Available with the judge's router URL in the
// plan document, and a progress report in which judge calls failed (the runtime could not reach the URL) sets
// JudgeUnavailable=True with the URL and the error; the next good report clears it. The GRPO metrics reach
// status.progress.grpo and Prometheus. A pipeline layout is refused naming the fix.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type LocalCluster } from '../../cluster/index.js';
import { eventually } from '../../util/poll.js';
import { DEFAULT_TOPOLOGY, applyYaml, chartRbacKubeConfig, installCrds, json, startOperator } from './harness.js';
import { parsePlanDocument } from '../../../operator/contract/index.js';

let c: LocalCluster;
let op: Awaited<ReturnType<typeof startOperator>>;
const NS = 'rl';

const grpoJob = (name: string, stages = 1) => `apiVersion: moe.io/v1alpha1
kind: MoETrainingJob
metadata: {name: ${name}, namespace: ${NS}}
spec:
  model: {preset: deepseek-v3-tiny}
  parallelism: {pipeline: {stages: ${stages}, microBatches: ${stages === 1 ? 1 : 4}}, expert: 1, data: ${8 / stages}, gpusPerPod: 8}
  training:
    mode: grpo
    steps: 10
    globalBatchSize: 16
    sequenceLength: 64
    grpo:
      groupSize: 4
      promptsPerStep: 8
      rewards:
      - {type: boxed, weight: 1}
      - type: judge
        weight: 0.5
        timeoutSeconds: 5
        judge: {inferenceDeployment: judge, maxScore: 10, retries: 1}
  data: {format: prompts, uri: "file:///data/prompts.jsonl"}
  template:
    spec:
      containers:
      - {name: trainer, image: moe-runtime:test}
`;
const judge = `apiVersion: moe.io/v1alpha1
kind: InferenceDeployment
metadata: {name: judge, namespace: ${NS}}
spec:
  model: {checkpoint: {uri: file:///models/judge}, architecture: {preset: deepseek-v3-tiny}}
  router: {port: 9000}
  servedModelName: judge-chat
  roles:
    prefill: {replicas: 1, podsPerReplica: 1, gpusPerPod: 8}
    decode: {replicas: 1, podsPerReplica: 1, gpusPerPod: 8}
`;
const job = (name: string) => json(c, ['-n', NS, 'get', 'mtj', name]);
const cond = (j: any, type: string) => j.status?.conditions?.find((x: any) => x.type === type);
const report = (progress: unknown) => c.kubectl(['-n', NS, 'patch', 'configmap', 'learn-report', '--type=merge', '-p', JSON.stringify({ data: { progress: JSON.stringify(progress) } })]);

before(async () => {
  c = await startCluster({ fleet: { spines: 1, leavesPerSpine: 1, nodesPerLeaf: 4, gpusPerNode: 8 }, runnerNodes: 0 });
  await installCrds(c);
  await applyYaml(c, DEFAULT_TOPOLOGY);
  await c.kubectl(['create', 'namespace', NS]);
  op = await startOperator(await chartRbacKubeConfig(c));
});

after(async () => {
  await op?.stop();
  await c?.stop();
});

describe('GRPO judges', () => {
  test('missing, then not serving, then Available: the gang waits with JudgeUnavailable and starts with the judge URL in the plan', async () => {
    await applyYaml(c, grpoJob('learn'));
    let last: any;
    let j = await eventually(async () => {
      const x = (last = await job('learn'));
      return cond(x, 'JudgeUnavailable')?.reason === 'JudgeNotFound' ? x : false;
    }, { what: 'JudgeUnavailable JudgeNotFound' }).catch((e: Error) => { throw new Error(`${e.message}; status ${JSON.stringify(last?.status)}`); });
    assert.equal(j.status.phase, 'Unschedulable');
    assert.equal(cond(j, 'JudgeUnavailable').status, 'True');
    assert.match(cond(j, 'JudgeUnavailable').message, /judge InferenceDeployment judge .* not found in namespace rl/);
    await applyYaml(c, judge);
    j = await eventually(async () => {
      const x = await job('learn');
      return cond(x, 'JudgeUnavailable')?.reason === 'JudgeNotReady' ? x : false;
    }, { what: 'JudgeUnavailable JudgeNotReady' });
    assert.match(cond(j, 'JudgeUnavailable').message, /at http:\/\/judge\.rl\.svc:9000\/v1 is not serving yet/);
    await c.kubectl(['-n', NS, 'patch', 'infd', 'judge', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Available"}}']);
    j = await eventually(async () => {
      const x = await job('learn');
      return cond(x, 'JudgeUnavailable')?.status === 'False' && x.status.phase !== 'Unschedulable' ? x : false;
    }, { what: 'judge resolved, job planned' });
    assert.equal(cond(j, 'JudgeUnavailable').reason, 'JudgesResolved');
    const cm = await json(c, ['-n', NS, 'get', 'configmap', 'learn-plan']);
    const doc = parsePlanDocument(cm.data['plan.json'], 'learn-plan');
    assert.deepEqual(doc.judges, { judge: { baseUrl: 'http://judge.rl.svc:9000/v1', model: 'judge-chat' } });
    assert.equal(doc.training?.mode, 'grpo');
    await eventually(async () => (await json(c, ['-n', NS, 'get', 'pod', 'learn-0']).catch(() => undefined)) ?? false, { what: 'pod learn-0' });
  });

  test('a report of failed judge calls sets JudgeUnavailable with the URL and the error; a good report clears it; metrics and status carry the step', async () => {
    const url = 'http://judge.rl.svc:9000/v1/chat/completions';
    const grpo = { rewardMean: 0.25, rewardStd: 0.4, kl: 0.01, responseLength: 12, signalFraction: 0.5, rewardErrors: 32, judgeFailures: 32, judgeCalls: 32, judgeError: { url, error: 'no answer after 2 attempts (timeout 5 s each): connect ECONNREFUSED 10.96.0.12:9000' } };
    await report({ step: 3, tokens: 3000, loss: 0.1, tokensPerSecond: 10, grpo });
    const j = await eventually(async () => {
      const x = await job('learn');
      return cond(x, 'JudgeUnavailable')?.status === 'True' ? x : false;
    }, { what: 'JudgeUnavailable True after the report' });
    assert.equal(cond(j, 'JudgeUnavailable').reason, 'JudgeCallsFailed');
    assert.equal(cond(j, 'JudgeUnavailable').message, `judge ${url}: ${grpo.judgeError.error} (32 of 32 judge calls failed at step 3; those samples scored 0)`);
    assert.equal(j.status.progress.grpo.rewardMean, 0.25);
    assert.equal(j.status.progress.grpo.judgeError.url, url);
    const text = await op.metrics.registry.metrics();
    assert.match(text, /moe_job_grpo_reward_mean\{namespace="rl",job="learn"\} 0.25/);
    assert.match(text, /moe_job_grpo_reward_errors\{namespace="rl",job="learn"\} 32/);
    await report({ step: 4, tokens: 4000, loss: 0.1, tokensPerSecond: 10, grpo: { ...grpo, rewardMean: 0.5, rewardErrors: 0, judgeFailures: 0, judgeError: undefined } });
    const k = await eventually(async () => {
      const x = await job('learn');
      return cond(x, 'JudgeUnavailable')?.status === 'False' ? x : false;
    }, { what: 'JudgeUnavailable cleared' });
    assert.equal(cond(k, 'JudgeUnavailable').reason, 'JudgeAnswering');
    assert.equal(k.status.progress.grpo.rewardMean, 0.5);
  });

  test('a pipeline layout is refused for grpo, naming the fix', async () => {
    await applyYaml(c, grpoJob('piped', 2).replace('name: judge, maxScore', 'name: judge, maxScore'));
    const j = await eventually(async () => {
      const x = await job('piped');
      return x.status?.phase === 'Invalid' ? x : false;
    }, { what: 'piped Invalid' });
    assert.match(cond(j, 'Valid').message, /training\.mode grpo needs every rank to hold the whole model.*set parallelism\.pipeline\.stages 1 and parallelism\.expert 1/);
  });
});
