// GRPO benchmark: does reinforcement learning with a verifiable reward really raise the reward? Task: two-digit
// addition, prompt "a+b=", reward 1 when the last \boxed{} of the response holds a+b (the boxed rule reward).
//  1. Start point: a small model pre-trained inside the bench (BENCH_GRPO_PRETRAIN steps of next-token loss on
//     the training problems' "a+b=\boxed{c}" lines, shuffled), so it writes the format and gets some sums right: the
//     starting reward is above 0 and below 1. Its checkpoint is the GRPO job's MOE_INIT_URI (weights only), so the
//     reference policy is this model.
//  2. GRPO (post/run-grpo.ts, the same loop `moe-runtime train --mode grpo` runs) for BENCH_GRPO_STEPS steps on the
//     training prompts; rollouts through the serving engine at temperature 1.
//  3. Reward before and after on the training prompts and on 64 unseen problems: 4 samples per problem at the
//     training temperature, and greedy accuracy, measured with the same engine.
// Writes bench/results/grpo.json (the per-step curve included) and bench/results/grpo.svg. Not a timed test.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { snapshot } from '../../runtime/src/train/state.js';
import { Trainer } from '../../runtime/src/train/trainer.js';
import { defaultTrainOptions, type TrainOptions } from '../../runtime/src/train/options.js';
import { byteTokenizer } from '../../runtime/src/data/tokenizer.js';
import { Rng } from '../../runtime/src/model/rng.js';
import { saveCheckpoint } from '../../runtime/src/checkpoint/checkpoint-dirs.js';
import { runGrpo } from '../../runtime/src/post/run-grpo.js';
import { grpoSettings } from '../../runtime/src/post/settings.js';
import { generateRollouts } from '../../runtime/src/post/rollout.js';
import { boxedReward } from '../../runtime/src/post/rewards.js';
import type { Params } from '../../runtime/src/model/params.js';
import type { RuntimeModelConfig } from '../../runtime/src/model/config.js';
import { lineChart } from '../../operator/report/svg.js';
import { resultsDir, writeResult } from '../result-file.js';

process.env.MOE_NUM_THREADS ??= '1';
const PRETRAIN = Number(process.env.BENCH_GRPO_PRETRAIN ?? 300);
const STEPS = Number(process.env.BENCH_GRPO_STEPS ?? 240);
const EVAL_EVERY = Number(process.env.BENCH_GRPO_EVAL_EVERY ?? 30);
const G = Number(process.env.BENCH_GRPO_GROUP ?? 8);
const P = Number(process.env.BENCH_GRPO_PROMPTS ?? 8);
const LR = Number(process.env.BENCH_GRPO_LR ?? 3e-4);
const OVERRIDES = JSON.parse(process.env.BENCH_GRPO_MODEL ?? '{"vocab_size":256,"hidden_size":128,"num_hidden_layers":2,"intermediate_size":256,"n_routed_experts":8,"num_experts_per_tok":2,"n_group":2,"topk_group":1}');
const SEQ = 24;
const MAX_NEW = 11; // "\boxed{123}" is 11 bytes

interface Problem { a: number; b: number }
function problems(seed: number, n: number): Problem[] {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => ({ a: 10 + r.int(90), b: 10 + r.int(90) }));
}
const line = (p: Problem): string => `${p.a}+${p.b}=\\boxed{${p.a + p.b}}\n`;

// A fixed prompt set the start point has seen (pre-training memorises some of it; a model this small does not learn
// the addition algorithm in minutes on 2 cores), and unseen problems for what carries over.
const train = problems(1, Number(process.env.BENCH_GRPO_PROBLEMS ?? 64));
const heldOut = problems(2, 64);
const out = mkdtempSync(path.join(tmpdir(), 'grpo-bench-'));
const promptsFile = path.join(out, 'prompts.jsonl');
writeFileSync(promptsFile, train.map((p) => JSON.stringify({ prompt: `${p.a}+${p.b}=`, reference: String(p.a + p.b) })).join('\n') + '\n');

/** Mean boxed reward of 4 samples per problem at temperature 1, and greedy accuracy. */
async function rewardOn(set: Problem[], config: RuntimeModelConfig, params: Params, precision: TrainOptions['precision']): Promise<{ sampled: number; greedy: number }> {
  const ids = set.map((p) => byteTokenizer.encode(`${p.a}+${p.b}=`));
  const score = async (temperature: number, g: number): Promise<number> => {
    const ro = await generateRollouts(config, byteTokenizer, params, ids, { groupSize: g, temperature, topP: 1, maxNewTokens: MAX_NEW, stopTokenIds: [], maxSequenceLength: SEQ + 1, precision, maxBatch: 64 }, 777, 0);
    let s = 0;
    for (const r of ro) s += boxedReward(byteTokenizer.decode(r.tokens), String(set[r.prompt].a + set[r.prompt].b));
    return s / ro.length;
  };
  return { sampled: await score(1, 4), greedy: await score(0, 1) };
}

const t0 = performance.now();
const cpu0 = process.cpuUsage();
// 1. The starting checkpoint.
const preOpts = defaultTrainOptions({ steps: PRETRAIN, batch: 8, seqLen: 32, precision: 'fp8', overrides: OVERRIDES, checkpointEvery: 0, mtpLambda: 0.3 });
// The problems' lines in a fresh shuffled order per pass: the answer must come from its own prompt, not from the
// line before it (a fixed order would let the model recite the sequence instead, which a lone prompt does not give).
const order = new Rng(3);
const corpus = byteTokenizer.encode(Array.from({ length: 64 }, () => {
  const ls = train.map(line);
  for (let i = ls.length - 1; i > 0; i--) {
    const j = order.int(i + 1);
    [ls[i], ls[j]] = [ls[j], ls[i]];
  }
  return ls.join('');
}).join(''));
const pre = new Trainer(preOpts, byteTokenizer, corpus);
const preLoss: number[] = [];
for (let i = 0; i < PRETRAIN; i++) {
  const m = pre.trainStep();
  preLoss.push(m.mainLoss);
  process.stderr.write(`\rpre-train step ${m.step}/${PRETRAIN} loss ${m.mainLoss.toFixed(3)}   `);
}
process.stderr.write('\n');
const startDir = path.join(out, 'start');
await saveCheckpoint(startDir, pre.step, snapshot(pre), 1);
const before = { prompts: await rewardOn(train, pre.config, pre.params, 'fp8'), heldOut: await rewardOn(heldOut, pre.config, pre.params, 'fp8') };
process.stderr.write(`start: reward on the prompts ${before.prompts.sampled.toFixed(3)} (sampled) ${before.prompts.greedy.toFixed(3)} (greedy); held-out ${before.heldOut.sampled.toFixed(3)} / ${before.heldOut.greedy.toFixed(3)}\n`);
const preSeconds = (performance.now() - t0) / 1000;

// 2. GRPO from it, in chunks of EVAL_EVERY steps: each chunk resumes the previous one's checkpoint (the exact resume
//    the tests check), and the policy is evaluated on the prompts between chunks.
const s = grpoSettings({ groupSize: G, promptsPerStep: P, temperature: 1, topP: 1, maxNewTokens: MAX_NEW, clipEpsilon: 0.2, klCoef: 0.04, rewards: [{ type: 'boxed' }] });
const curve: { step: number; rewardMean: number; rewardStd: number; kl: number; signalFraction: number; responseLength: number; seconds: number }[] = [];
const evals: { step: number; prompts: { sampled: number; greedy: number } }[] = [{ step: 0, prompts: before.prompts }];
const t1 = performance.now();
const grpoDir = path.join(out, 'grpo');
let trained: Trainer | undefined;
for (let upTo = Math.min(EVAL_EVERY, STEPS); ; upTo = Math.min(upTo + EVAL_EVERY, STEPS)) {
  // A constant learning rate, so the chunks' schedules (their own totalSteps) are the same as one run's.
  const opts = defaultTrainOptions({ steps: upTo, batch: 1, seqLen: SEQ, precision: 'fp8', overrides: OVERRIDES, checkpointEvery: EVAL_EVERY, seed: 5, mtpLambda: 0,
    optimizer: { ...defaultTrainOptions().optimizer, lr: LR, minLr: LR, warmupSteps: 0, totalSteps: upTo, weightDecay: 0 } });
  trained = await runGrpo(opts, s, promptsFile, grpoDir, {
    info: () => {}, warn: (m) => process.stderr.write(`warning: ${m}\n`),
    onStep(m) {
      curve.push({ step: m.step, rewardMean: m.rewardMean, rewardStd: m.rewardStd, kl: m.kl, signalFraction: m.signalFraction, responseLength: m.responseLength, seconds: m.seconds });
      process.stderr.write(`\rgrpo step ${m.step}/${STEPS} reward ${m.rewardMean.toFixed(3)} kl ${m.kl.toFixed(4)} signal ${m.signalFraction.toFixed(2)} ${m.seconds.toFixed(1)} s   `);
    },
  }, { MOE_INIT_URI: `file://${startDir}` });
  const e = await rewardOn(train, trained.config, trained.params, 'fp8');
  evals.push({ step: upTo, prompts: e });
  process.stderr.write(`\nafter step ${upTo}: reward on the prompts ${e.sampled.toFixed(3)} (sampled) ${e.greedy.toFixed(3)} (greedy)\n`);
  if (upTo >= STEPS) break;
}
const grpoSeconds = (performance.now() - t1) / 1000;
const after = { prompts: evals[evals.length - 1].prompts, heldOut: await rewardOn(heldOut, trained!.config, trained!.params, 'fp8') };
process.stderr.write(`final: reward on the prompts ${after.prompts.sampled.toFixed(3)} (sampled) ${after.prompts.greedy.toFixed(3)} (greedy); held-out ${after.heldOut.sampled.toFixed(3)} / ${after.heldOut.greedy.toFixed(3)}\n`);
const cpu = process.cpuUsage(cpu0);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const k = Math.min(5, curve.length);
const result = {
  task: 'two-digit addition, prompt "a+b=", boxed reward (1 when the last \\boxed{} holds a+b)',
  command: 'make build native && node dist/bench/train/grpo.bench.js',
  model: { preset: 'deepseek-v3-tiny', overrides: OVERRIDES, precision: 'fp8' },
  pretrain: { steps: PRETRAIN, batch: 8, seqLen: 32, lossFirst: preLoss[0], lossLast: preLoss[preLoss.length - 1], seconds: preSeconds },
  grpo: { steps: STEPS, groupSize: G, promptsPerStep: P, lr: LR, maxNewTokens: MAX_NEW, clipEpsilon: 0.2, klCoef: 0.04, seconds: grpoSeconds },
  evaluation: { prompts: train.length, heldOutProblems: heldOut.length, samplesPerProblem: 4, before, after, everyChunk: evals },
  trainingReward: { firstSteps: mean(curve.slice(0, k).map((c) => c.rewardMean)), lastSteps: mean(curve.slice(-k).map((c) => c.rewardMean)), steps: k },
  wallSeconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6,
  curve,
};
process.stderr.write(`wrote ${writeResult('grpo', result, { threads: process.env.MOE_NUM_THREADS })}\n`);
const avg = (i: number): number => mean(curve.slice(Math.max(0, i - 4), i + 1).map((c) => c.rewardMean));
writeFileSync(path.join(resultsDir, 'grpo.svg'), lineChart('GRPO on two-digit addition (boxed reward)', 'GRPO step', 'reward', [
  { label: 'step reward (mean of 5 steps)', points: curve.map((c, i) => [c.step, avg(i)]) },
  { label: 'reward on the prompts, 4 samples each (eval)', points: evals.map((e) => [e.step, e.prompts.sampled]) },
  { label: 'greedy accuracy on the prompts (eval)', points: evals.map((e) => [e.step, e.prompts.greedy]) },
]));
console.log(JSON.stringify({ before, after, trainingReward: result.trainingReward, wallSeconds: result.wallSeconds }, null, 2));
