// SFT benchmark: does supervised fine-tuning on a small chat set teach a pre-trained model to answer in the chat
// template? Not a timed test; writes bench/results/sft.json.
//  1. Start point: a small DeepSeek-V3-style model (vocabulary 260: bytes + the template's four special tokens)
//     pre-trained inside the bench for BENCH_SFT_PRETRAIN steps on the synthetic text corpus (data/grammar.ts); it
//     has never seen the template. Its checkpoint is the SFT run's MOE_INIT_URI (weights only).
//  2. SFT through runTraining (train/run.ts, the loop `moe-runtime train --mode sft` runs): BENCH_SFT_EPOCHS epochs of
//     generated conversations (grammar.ts syntheticChat: sums, repetition, a story's ending), packed, loss on the
//     assistant tokens only, warm-up then cosine decay to minLr.
//  3. Before and after, on held-out conversations (another seed): the mean cross-entropy over the assistant tokens
//     (train/sft.ts heldOutLoss), and greedy answers through the serving engine (post/rollout.ts, the engine's
//     continuous batching) to the rendered prompt: the fraction that end with the end-of-sentence token within
//     BENCH_SFT_MAX_NEW tokens, and the fraction whose text before it equals the reference answer.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { saveCheckpoint } from '../../runtime/src/checkpoint/checkpoint-dirs.js';
import { renderChat, CHAT_TOKENS } from '../../runtime/src/data/chat-template.js';
import { encodeSample, type ChatSample } from '../../runtime/src/data/chat-data.js';
import { syntheticChat, syntheticCorpus } from '../../runtime/src/data/grammar.js';
import { byteTokenizer, specialId, withChatTokens } from '../../runtime/src/data/tokenizer.js';
import { generateRollouts } from '../../runtime/src/post/rollout.js';
import { runTraining } from '../../runtime/src/train/run.js';
import { defaultTrainOptions, type TrainOptions } from '../../runtime/src/train/options.js';
import { chatLayout, heldOutLoss } from '../../runtime/src/train/sft.js';
import { snapshot } from '../../runtime/src/train/state.js';
import { Trainer } from '../../runtime/src/train/trainer.js';
import { writeResult } from '../result-file.js';

process.env.MOE_NUM_THREADS ??= '1';
const PRETRAIN = Number(process.env.BENCH_SFT_PRETRAIN ?? 300);
const EPOCHS = Number(process.env.BENCH_SFT_EPOCHS ?? 2);
const TRAIN_N = Number(process.env.BENCH_SFT_TRAIN ?? 600);
const HELD_N = Number(process.env.BENCH_SFT_HELD ?? 64);
const MAX_NEW = Number(process.env.BENCH_SFT_MAX_NEW ?? 80);
const OVERRIDES = JSON.parse(process.env.BENCH_SFT_MODEL ?? JSON.stringify({
  vocab_size: 260, hidden_size: 64, intermediate_size: 128, moe_intermediate_size: 32, num_hidden_layers: 2,
  first_k_dense_replace: 1, num_attention_heads: 4, q_lora_rank: 32, kv_lora_rank: 32, qk_nope_head_dim: 16,
  qk_rope_head_dim: 8, v_head_dim: 16, n_routed_experts: 8, n_shared_experts: 1, num_experts_per_tok: 2, n_group: 2,
  topk_group: 1, num_nextn_predict_layers: 1,
}));
const SEQ_PRE = 64, SEQ_SFT = 160;
const PRECISION = (process.env.BENCH_SFT_PRECISION ?? 'fp8') as TrainOptions['precision'];

const out = mkdtempSync(path.join(tmpdir(), 'sft-bench-'));
const tokenizer = withChatTokens(byteTokenizer, OVERRIDES.vocab_size);
const eos = specialId(tokenizer, CHAT_TOKENS.eos);
if (eos === undefined) throw new Error(`BENCH_SFT_MODEL vocab_size ${OVERRIDES.vocab_size} has no room for the chat tokens (needs ≥ 260)`);
const t0 = performance.now();
const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

// 1. Pre-training on text.
const preOpts: TrainOptions = defaultTrainOptions({
  overrides: OVERRIDES, precision: PRECISION, batch: 16, seqLen: SEQ_PRE, steps: PRETRAIN, checkpointEvery: 0, seed: 7,
});
const pre = new Trainer(preOpts, tokenizer, tokenizer.encode(syntheticCorpus(7, 300_000)));
let preLoss = 0;
for (let s = 0; s < PRETRAIN; s++) preLoss = pre.trainStep().mainLoss;
const preDir = path.join(out, 'pretrain');
await saveCheckpoint(preDir, pre.step, snapshot(pre), 1);
const preSeconds = (performance.now() - t0) / 1000;
process.stderr.write(`pre-training: ${PRETRAIN} steps, last loss ${preLoss.toFixed(3)}, ${preSeconds.toFixed(0)} s\n`);

// 2. The chat data.
const write = (file: string, seed: number, n: number): string => {
  const p = path.join(out, file);
  writeFileSync(p, syntheticChat(seed, n).map((c) => JSON.stringify(c)).join('\n') + '\n');
  return p;
};
const trainFile = write('train.jsonl', 11, TRAIN_N);
const heldFile = write('held.jsonl', 12, HELD_N);
const held = syntheticChat(12, HELD_N);
const heldSamples = held.map((c, i) => encodeSample({ where: `held:${i + 1}`, messages: c.messages } as ChatSample, tokenizer));

const sftOpts: TrainOptions = defaultTrainOptions({
  overrides: OVERRIDES, precision: PRECISION, batch: 8, seqLen: SEQ_SFT, steps: 100_000, checkpointEvery: 0, seed: 3,
  sft: { epochs: EPOCHS, packing: true, heldOutPath: heldFile },
});
sftOpts.optimizer = { ...sftOpts.optimizer, lr: 2e-3, minLr: 2e-4, warmupSteps: 10 };
const layout = chatLayout(sftOpts, sftOpts.sft!, pre.config);

/** Greedy answers to the held-out prompts through the serving engine. */
async function answers(t: Trainer): Promise<{ endsWithEos: number; exact: number; examples: { prompt: string; answer: string; reference: string }[] }> {
  const prompts = held.map((c) => c.messages.filter((m) => m.role !== 'assistant'));
  const ids = prompts.map((m) => tokenizer.encode(renderChat(m)));
  const ro = await generateRollouts(t.config, tokenizer, t.params, ids, {
    groupSize: 1, temperature: 0, topP: 1, maxNewTokens: MAX_NEW, stopTokenIds: [eos!], maxSequenceLength: SEQ_SFT + 1, precision: PRECISION, maxBatch: 64,
  }, 5, 0);
  let ends = 0, exact = 0;
  const examples: { prompt: string; answer: string; reference: string }[] = [];
  for (const r of ro) {
    const toks = Array.from(r.tokens);
    const stopped = toks.at(-1) === eos;
    const text = tokenizer.decode(stopped ? toks.slice(0, -1) : toks);
    const reference = held[r.prompt]!.messages.find((m) => m.role === 'assistant')!.content;
    if (stopped) ends++;
    if (stopped && text === reference) exact++;
    if (examples.length < 4) examples.push({ prompt: renderChat(prompts[r.prompt]!), answer: tokenizer.decode(toks), reference });
  }
  return { endsWithEos: ends / ro.length, exact: exact / ro.length, examples };
}

const before = { heldOutLoss: heldOutLoss(pre, heldSamples, layout, 8), ...(await answers(pre)) };
process.stderr.write(`before SFT: held-out assistant loss ${before.heldOutLoss.toFixed(3)}, ends with EOS ${before.endsWithEos}, exact ${before.exact}\n`);

// 3. SFT from the pre-trained checkpoint, through the CLI's loop.
const sftDir = path.join(out, 'sft');
const curve: { step: number; loss: number; lr: number }[] = [];
const heldCurve: { step: number; heldOutLoss: number }[] = [];
const tSft = performance.now();
const sft = await runTraining(sftOpts, trainFile, sftDir, {
  info: (msg, f) => {
    if (msg === 'held-out loss') heldCurve.push({ step: Number(f?.step), heldOutLoss: Number(f?.heldOutLoss) });
    if (msg === 'sft data') process.stderr.write(`sft data ${JSON.stringify(f)}\n`);
  },
  warn: (m) => process.stderr.write(`warning: ${m}\n`),
  onStep: (m) => {
    curve.push({ step: m.step, loss: m.mainLoss, lr: m.lr });
    if (m.step % 10 === 0) process.stderr.write(`sft step ${m.step}: assistant loss ${m.mainLoss.toFixed(3)} lr ${m.lr.toExponential(2)}\n`);
  },
}, { MOE_INIT_URI: `file://${preDir}` });
const sftSeconds = (performance.now() - tSft) / 1000;
const after = { heldOutLoss: heldOutLoss(sft, heldSamples, layout, 8), ...(await answers(sft)) };
process.stderr.write(`after SFT: held-out assistant loss ${after.heldOutLoss.toFixed(3)}, ends with EOS ${after.endsWithEos}, exact ${after.exact}\n`);

const result = {
  command: 'node dist/bench/train/sft.bench.js',
  model: OVERRIDES, precision: PRECISION,
  pretrain: { steps: PRETRAIN, batch: preOpts.batch, seqLen: SEQ_PRE, lastLoss: preLoss, seconds: preSeconds },
  data: { train: TRAIN_N, heldOut: HELD_N, generator: 'runtime/src/data/grammar.ts syntheticChat (train seed 11, held-out seed 12)' },
  sft: {
    epochs: EPOCHS, steps: sft.step, batch: sftOpts.batch, seqLen: SEQ_SFT, packing: true,
    lr: sftOpts.optimizer.lr, minLr: sftOpts.optimizer.minLr, warmupSteps: sftOpts.optimizer.warmupSteps, seconds: sftSeconds,
  },
  before, after,
  heldOutCurve: heldCurve,
  curve,
  wallSeconds: (performance.now() - t0) / 1000, cpuSeconds: cpuSeconds(),
};
const file = writeResult('sft', result, { threads: process.env.MOE_NUM_THREADS });
process.stderr.write(`wrote ${file}\n`);
process.stdout.write(JSON.stringify({ before: { heldOutLoss: before.heldOutLoss, endsWithEos: before.endsWithEos, exact: before.exact }, after: { heldOutLoss: after.heldOutLoss, endsWithEos: after.endsWithEos, exact: after.exact }, wallSeconds: result.wallSeconds }) + '\n');
