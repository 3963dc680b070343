// End to end on the local cluster (issue 13): post-training from `kubectl apply` to served exports, every pod a
// container from the runtime image on two real nodes under Pod Security `restricted`. A tiny model is pre-trained over
// 2 ranks (expert parallelism) in one pod of 2 GPUs: `moe-runtime train` there starts both ranks (the in-pod
// launcher, runtime/src/comm/pod-launch.ts), which meet at the pod's own hostname (a one-pod gang gets no headless
// Service). A supervised fine-tuning job (training.mode sft) over 2 other ranks (data parallelism) starts from it
// (checkpoint.initFrom.trainingJob, resharded on load) on chat JSONL that teaches it to answer "a+b=" with the digit;
// an InferenceDeployment serves its export and answers a chat completion. Two GRPO jobs over 2 ranks
// (parallelism.data 2) start from the SFT job: one with a rule-based reward (exactMatch), one with a model-based reward
// whose judge is that InferenceDeployment (the operator resolves its router URL into the plan). Both succeed with
// status.progress.grpo filled; the judge job's calls were all answered; the rule job's export is served too.
// The data reaches the pods as a ConfigMap volume (hostPath volumes are refused under `restricted`).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { LocalCluster } from '../cluster/index.js';
import { RUNTIME_IMAGE, podLogs, restrictedNamespaceWithVolume, startRealCluster } from './real-cluster.js';
import { eventually } from '../util/poll.js';
import { DEFAULT_TOPOLOGY, applyYaml, installCrds, json, startOperator } from '../integration/operator/harness.js';
import { collectivesAvailable } from '../../runtime/src/comm/collectives-binding.js';
import { need } from '../util/need.js';

const NS = 'post';
const skip = need(collectivesAvailable(), 'the Gloo collectives addon (runtime/collectives)', 'run `make native`') ? false : 'see the failing prerequisite test';
let c: LocalCluster;
let op: Awaited<ReturnType<typeof startOperator>> | undefined;
let shared = '';

// vocab 260 = 256 bytes + the chat template's 4 special tokens (BOS, EOS, <User>, <Assistant>).
const MODEL = `{vocab_size: 260, hidden_size: 16, intermediate_size: 24, moe_intermediate_size: 8, num_hidden_layers: 2,
      first_k_dense_replace: 1, num_attention_heads: 2, q_lora_rank: 8, kv_lora_rank: 8, qk_nope_head_dim: 4,
      qk_rope_head_dim: 4, v_head_dim: 4, n_routed_experts: 8, n_shared_experts: 1, num_experts_per_tok: 2, n_group: 4,
      topk_group: 2, num_nextn_predict_layers: 1}`;
const SEQ = 64;
const GROUP = 4, PROMPTS = 2, NEW_TOKENS = 4, GRPO_STEPS = 2;

// Single-digit sums a+b <= 9: 55 questions; every fifth is held out (SFT) and used as a GRPO prompt.
const sums = Array.from({ length: 10 }, (_, a) => Array.from({ length: 10 - a }, (_, b) => [a, b] as const)).flat();
const chat = ([a, b]: readonly [number, number]) => JSON.stringify({ messages: [{ role: 'user', content: `${a}+${b}=` }, { role: 'assistant', content: String(a + b) }] });
const prompt = ([a, b]: readonly [number, number]) => JSON.stringify({ messages: [{ role: 'user', content: `${a}+${b}=` }], reference: String(a + b) });
const held = sums.filter((_, i) => i % 5 === 0);
const trainSet = sums.filter((_, i) => i % 5 !== 0);

const block = (lines: string[]): string => lines.map((l) => `    ${l}`).join('\n');
const DATA = (): string => `apiVersion: v1
kind: ConfigMap
metadata: {name: post-data, namespace: ${NS}}
data:
  chat.jsonl: |
${block(trainSet.map(chat))}
  held-out.jsonl: |
${block(held.map(chat))}
  prompts.jsonl: |
${block(held.map(prompt))}
`;

/** A MoETrainingJob from the runtime image; the chat/prompt data mounted at /data, checkpoints on the shared claim. */
function job(name: string, parallelism: string, training: string, extra: string): string {
  return `apiVersion: moe.io/v1alpha1
kind: MoETrainingJob
metadata: {name: ${name}, namespace: ${NS}}
spec:
  model:
    config: ${MODEL}
  parallelism: ${parallelism}
  training:
${training}
${extra}
  failurePolicy: {maxRestarts: 0}
  template:
    spec:
      containers:
      - name: trainer
        image: ${RUNTIME_IMAGE()}
        command: [moe-runtime, train]
        env:
        - {name: MOE_POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
        - {name: MOE_DIST_TIMEOUT_MS, value: "120000"}
        volumeMounts:
        - {name: ckpt, mountPath: /checkpoints}
        - {name: data, mountPath: /data, readOnly: true}
      volumes:
      - {name: ckpt, persistentVolumeClaim: {claimName: checkpoints}}
      - {name: data, configMap: {name: post-data}}
`;
}

const PRETRAIN = (): string => job('base', '{expert: 2, gpusPerPod: 2}',
  `    steps: 4
    globalBatchSize: 4
    sequenceLength: ${SEQ}`,
  '  checkpoint: {intervalSteps: 4}');

const SFT = (): string => job('chat', '{data: 2, gpusPerPod: 1}',
  `    mode: sft
    sft: {epochs: 30, packing: true}
    steps: 1000
    globalBatchSize: 2
    sequenceLength: ${SEQ}
    optimizer: {learningRate: 1.0e-2, minLearningRate: 1.0e-3, warmupSteps: 5, weightDecay: 0}`,
  `  data: {format: chat, uri: "file:///data/chat.jsonl", heldOutUri: "file:///data/held-out.jsonl"}
  checkpoint: {initFrom: {trainingJob: {name: base}}, intervalSteps: 100}`);

function grpo(name: string, rewards: string): string {
  return job(name, '{data: 2, gpusPerPod: 1}',
    `    mode: grpo
    steps: ${GRPO_STEPS}
    globalBatchSize: ${PROMPTS * GROUP}
    sequenceLength: ${SEQ}
    optimizer: {learningRate: 1.0e-3, minLearningRate: 1.0e-3, warmupSteps: 0, weightDecay: 0}
    grpo:
      groupSize: ${GROUP}
      promptsPerStep: ${PROMPTS}
      temperature: 1.0
      maxNewTokens: ${NEW_TOKENS}
      rewards:
${rewards}`,
    `  data: {format: prompts, uri: "file:///data/prompts.jsonl"}
  checkpoint: {initFrom: {trainingJob: {name: chat}}, intervalSteps: ${GRPO_STEPS}}`);
}

const RL_RULE = (): string => grpo('rl-rule', '      - {type: exactMatch, weight: 1}');
// The judge is the SFT model: it answers "a+b=c" with a digit (the score, out of 9). The prompt stays short: the
// served model's context is the training sequence length.
const RL_JUDGE = (): string => grpo('rl-judge', `      - type: judge
        weight: 1
        timeoutSeconds: 30
        judge: {inferenceDeployment: chat-serve, prompt: "{prompt}{response}", scorePattern: "([0-9])", maxScore: 9, retries: 2}`);

/** Serves a training job's export: one decode pod that prefills locally, and a router. */
const SERVE = (name: string, fromJob: string): string => `apiVersion: moe.io/v1alpha1
kind: InferenceDeployment
metadata: {name: ${name}, namespace: ${NS}}
spec:
  model: {trainingJob: {name: ${fromJob}}}
  servedModelName: ${fromJob}
  roles:
    prefill: {replicas: 0}
    decode: {replicas: 1, podsPerReplica: 1, gpusPerPod: 1, maxBatch: 8, maxQueue: 64}
  router: {replicas: 1, port: 8000}
  template:
    spec:
      containers:
      - name: server
        image: ${RUNTIME_IMAGE()}
        command: [moe-runtime]
        volumeMounts: [{name: ckpt, mountPath: /checkpoints, readOnly: true}]
      volumes:
      - {name: ckpt, persistentVolumeClaim: {claimName: checkpoints}}
`;

const mtj = (name: string): Promise<any> => json(c, ['-n', NS, 'get', 'mtj', name]);
const cond = (o: any, type: string): any => o.status?.conditions?.find((x: any) => x.type === type);

/** The job's pods' logs (tail), for a failure message. */
async function jobLogs(name: string): Promise<string> {
  const pods = (await c.kubectl(['-n', NS, 'get', 'pods', '-l', `moe.io/job-name=${name}`, '-o', 'name']).catch(() => '')).split('\n').filter(Boolean).map((p) => p.replace(/^pod\//, ''));
  return pods.length ? podLogs(c, NS, pods, 20) : '(no pods)';
}

async function succeeded(name: string, timeoutMs = 240_000): Promise<any> {
  let last: any;
  const j = await eventually(async () => {
    last = await mtj(name);
    return last.status?.phase === 'Succeeded' || last.status?.phase === 'Failed' ? last : false;
  }, { timeoutMs, intervalMs: 1000, what: `job ${name} to finish` }).catch(async (e: Error) => {
    throw new Error(`${e.message}; status ${JSON.stringify(last?.status, null, 2)}\n${await jobLogs(name)}`);
  });
  if (j.status.phase !== 'Succeeded') assert.fail(`job ${name} ${j.status.phase}: ${JSON.stringify(j.status, null, 2)}\n${await jobLogs(name)}`);
  assert.equal(j.status.plan?.worldSize, 2, `job ${name} ran on 2 ranks: ${JSON.stringify(j.status.plan)}`);
  return j;
}

/** Rank 0's log lines of a job (metrics.jsonl in its run folder on the shared volume). */
function rank0Log(name: string): Array<Record<string, any>> {
  return readFileSync(path.join(shared, NS, name, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}

/** Waits for the deployment to be Available and answer; returns its router's URL. */
async function serving(name: string, model: string): Promise<string> {
  let last: any;
  await eventually(async () => {
    last = await json(c, ['-n', NS, 'get', 'inferencedeployment', name]);
    return cond(last, 'Available')?.status === 'True' || false;
  }, { timeoutMs: 240_000, intervalMs: 1000, what: `InferenceDeployment ${name} Available` }).catch(async (e: Error) => {
    throw new Error(`${e.message}; status ${JSON.stringify(last?.status, null, 2)}\n${await podLogs(c, NS, [`${name}-router-0`, `${name}-decode-0-0`])}`);
  });
  assert.equal(last.status.model.resolvedFrom, `MoETrainingJob/${model}`);
  assert.match(last.status.model.uri, new RegExp(`^file:///checkpoints/${NS}/${model}/export/?$`));
  const ip = (await c.kubectl(['-n', NS, 'get', 'pod', `${name}-router-0`, '-o', 'jsonpath={.status.podIP}'])).trim();
  assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
  return `http://${ip}:8000`;
}

/** A non-streaming chat completion through the router (retried while the router has not seen its routes: 502). */
async function chatCompletion(url: string, model: string, content: string): Promise<any> {
  const body = await eventually<any>(async () => {
    const r = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content }], max_tokens: 4, temperature: 0 }),
    }).catch(() => undefined);
    if (!r || r.status === 502 || r.status === 503) return false;
    const text = await r.text();
    if (r.status !== 200) assert.fail(`chat completion on ${model} answered ${r.status}: ${text}`);
    return JSON.parse(text);
  }, { timeoutMs: 120_000, intervalMs: 1000, what: `a chat completion from ${model}` });
  assert.equal(body.object, 'chat.completion', JSON.stringify(body));
  assert.equal(body.choices[0].message.role, 'assistant');
  assert.equal(typeof body.choices[0].message.content, 'string');
  assert.ok(['stop', 'length'].includes(body.choices[0].finish_reason), JSON.stringify(body.choices[0]));
  assert.ok(body.usage.completion_tokens >= 1 && body.usage.completion_tokens <= 4, JSON.stringify(body.usage));
  return body;
}

/** status.progress.grpo of a finished job: every field in its range (the step's PROMPTS × GROUP samples). */
function checkGrpo(j: any): any {
  const g = j.status.progress?.grpo;
  assert.ok(g, `status.progress.grpo: ${JSON.stringify(j.status.progress)}`);
  // Rank 0's warnings (failed reward evaluations name the sample's error) explain a failure below.
  const warnings = rank0Log(j.metadata.name).filter((l) => l.level === 'warn' || l.level === 'error').map((l) => l.msg).slice(-4);
  if ((g.rewardErrors ?? 0) > 0) assert.fail(`${j.metadata.name}: ${g.rewardErrors} reward evaluations failed: ${JSON.stringify(g)}\n${warnings.join('\n')}`);
  assert.equal(j.status.progress.step, GRPO_STEPS);
  assert.ok(g.rewardMean >= 0 && g.rewardMean <= 1, JSON.stringify(g));
  assert.ok(g.rewardStd >= 0 && g.rewardStd <= 0.5, JSON.stringify(g));
  assert.ok(g.kl >= 0 && Number.isFinite(g.kl), JSON.stringify(g));
  assert.ok(g.responseLength >= 1 && g.responseLength <= NEW_TOKENS, JSON.stringify(g));
  assert.ok(g.signalFraction >= 0 && g.signalFraction <= 1, JSON.stringify(g));
  assert.equal(j.status.checkpoints?.latest?.step, GRPO_STEPS, JSON.stringify(j.status.checkpoints));
  return g;
}

describe('post-training on the local cluster: SFT and GRPO (rule and judge rewards) to served exports', { skip }, () => {
  before(async () => {
    c = await startRealCluster();
    await installCrds(c);
    await applyYaml(c, DEFAULT_TOPOLOGY);
    shared = await restrictedNamespaceWithVolume(c, NS);
    op = await startOperator(c.kubeConfig(), { infd: true });
  });

  after(async () => {
    await op?.stop();
    await c?.stop();
    if (!process.env.MOE_KEEP_E2E) rmSync(shared, { recursive: true, force: true });
  });

  test('pre-train (EP=2) → SFT (DP=2, initFrom the job) → its export served: a chat completion', async () => {
    // Applied together: the SFT job waits for base (InitSourceNotReady), the deployment for chat (ModelReady=False).
    await applyYaml(c, DATA());
    await applyYaml(c, PRETRAIN());
    await applyYaml(c, SFT());
    await applyYaml(c, SERVE('chat-serve', 'chat'));
    const base = await succeeded('base');
    // Both ranks in one pod (its launcher started them) and so no headless Service: MASTER_ADDR is the pod's hostname.
    assert.equal(base.status.plan?.pods, 1, JSON.stringify(base.status.plan));
    const services = (await c.kubectl(['-n', NS, 'get', 'services', '-o', 'name'])).split('\n').filter(Boolean);
    assert.ok(!services.includes('service/base'), `a one-pod gang has no Service: ${services.join(', ')}`);
    const sft = await succeeded('chat');
    const log = rank0Log('chat');
    // Weights only from base's final checkpoint, written by its 2 expert-parallel ranks, resharded for DP=2.
    const init = log.find((l) => l.msg === 'initialised');
    assert.ok(init, `rank 0 of chat initialised from base: ${JSON.stringify(log.slice(0, 4))}`);
    assert.match(init.dir, new RegExp(`^/checkpoints/${NS}/base/checkpoints/step-0*4/?$`), JSON.stringify(init));
    assert.deepEqual([init.fromStep, init.writerRanks], [4, 2], JSON.stringify(init));
    // 44 conversations of 9 tokens (BOS <User> a + b = <Assistant> c EOS) packed 7 to a window of S+1 = 65 tokens: 7
    // windows an epoch, 30 epochs at 2 windows a step = 105 steps.
    const data = log.find((l) => l.msg === 'sft data');
    assert.deepEqual({ windows: data?.windowsPerEpoch, steps: data?.steps }, { windows: 7, steps: 105 }, JSON.stringify(data));
    assert.equal(sft.status.progress.step, 105);
    const heldOut = log.filter((l) => l.msg === 'held-out loss');
    assert.deepEqual(heldOut.map((l) => l.step), [0, 105]);
    assert.ok(heldOut[1].heldOutLoss < heldOut[0].heldOutLoss, `held-out loss ${heldOut[0].heldOutLoss} → ${heldOut[1].heldOutLoss}`);
    assert.equal(sft.status.progress.heldOutLoss, heldOut[1].heldOutLoss);
    const tok = JSON.parse(readFileSync(path.join(shared, NS, 'chat', 'export', 'tokenizer.json'), 'utf8'));
    assert.deepEqual(tok.added_tokens.map((a: any) => a.content), ['<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>', '<｜User｜>', '<｜Assistant｜>']);

    const url = await serving('chat-serve', 'chat');
    const answer = await chatCompletion(url, 'chat', '2+3=');
    process.stdout.write(`# SFT: held-out loss ${heldOut[0].heldOutLoss.toFixed(3)} → ${heldOut[1].heldOutLoss.toFixed(3)}; chat-serve answers "2+3=" with ${JSON.stringify(answer.choices[0].message.content)}\n`);
  });

  test('GRPO over 2 ranks with a rule reward and with a judge (the served SFT model): Succeeded, status.progress.grpo, the export served', async () => {
    // Both start from chat at once; the rule job's export gets a deployment of its own.
    await applyYaml(c, RL_RULE());
    await applyYaml(c, RL_JUDGE());
    await applyYaml(c, SERVE('rule-serve', 'rl-rule'));
    const rule = await succeeded('rl-rule');
    const judge = await succeeded('rl-judge');

    const gr = checkGrpo(rule);
    assert.equal(gr.judgeCalls ?? 0, 0, JSON.stringify(gr));

    const gj = checkGrpo(judge);
    // Every sample of the last step was judged (summed over both ranks), and every call was answered with a score.
    assert.equal(gj.judgeCalls, PROMPTS * GROUP, JSON.stringify(gj));
    assert.equal(gj.judgeFailures ?? 0, 0, JSON.stringify(gj));
    const ju = cond(judge, 'JudgeUnavailable');
    assert.equal(ju?.status, 'False', JSON.stringify(judge.status.conditions));
    assert.match(ju.message, new RegExp(`chat-serve at http://chat-serve\\.${NS}\\.svc:8000/v1|answered`), ju.message);
    const steps = rank0Log('rl-judge').filter((l) => l.msg === 'step');
    assert.equal(steps.length, GRPO_STEPS);
    for (const s of steps) assert.equal(s.judgeCalls, PROMPTS * GROUP, JSON.stringify(s));

    // The GRPO export keeps the chat tokens and is served.
    const tok = JSON.parse(readFileSync(path.join(shared, NS, 'rl-rule', 'export', 'tokenizer.json'), 'utf8'));
    assert.deepEqual(tok.added_tokens.map((a: any) => a.content), ['<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>', '<｜User｜>', '<｜Assistant｜>']);
    const url = await serving('rule-serve', 'rl-rule');
    const answer = await chatCompletion(url, 'rl-rule', '4+4=');
    process.stdout.write(`# GRPO rule: ${JSON.stringify(gr)}\n# GRPO judge: ${JSON.stringify(gj)}\n# rule-serve answers "4+4=" with ${JSON.stringify(answer.choices[0].message.content)}\n`);
  });
});
