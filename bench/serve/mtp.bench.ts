// MTP speculative decoding (issue 15 §2) on a model trained long enough for its MTP head to be useful.
//   1. Training: deepseek-v3-tiny (byte vocabulary) with the MTP module on (λ = 0.3, depth 1), the runtime's own
//      Trainer on the synthetic grammar corpus (runtime/src/data/grammar.ts), batch 4 × 64, for a time budget
//      (BENCH_MTP_TRAIN_SECONDS, default 480) or BENCH_MTP_STEPS steps (default 600), whichever ends first; the steps,
//      seconds and last losses are recorded. The run folder is kept in BENCH_MTP_RUN (default
//      ~/.cache/moe-operator/mtp-bench); BENCH_MTP_REUSE=1 serves the saved checkpoint without training again.
//   2. Serving (the engine's default precision: fp8 with the addon): greedy decode of held-out grammar prompts (another
//      corpus seed) at batch 1 and 8, rounds alternating plain / drafting 1 token / drafting 2 tokens; per run the
//      decode tokens/s (from every sequence's first token to the last, as engine.bench.ts), the tokens per CPU-second of
//      this process, the acceptance rate and the mean accepted length (tokens per verify step). The drafting runs'
//      tokens are compared with the plain run's (lossless greedy). One sampled run (temperature 1) per batch size
//      gives the acceptance under sampling.
// Writes bench/results/serve-mtp.json. DeepSeek-V3's figures (report §5.4.3): the second token accepted 85–90% of the
// time, 1.8× tokens per second.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, homedir, loadavg } from 'node:os';
import { join } from 'node:path';
import { saveCheckpoint } from '../../runtime/src/checkpoint/checkpoint-dirs.js';
import { syntheticCorpus } from '../../runtime/src/data/grammar.js';
import { byteTokenizer } from '../../runtime/src/data/tokenizer.js';
import { nativeAvailable } from '../../runtime/src/model/precision.js';
import { kernelInfo } from '../../runtime/src/native/index.js';
import { Engine } from '../../runtime/src/serve/engine/engine.js';
import type { EngineOptions, SamplingParams } from '../../runtime/src/serve/engine/types.js';
import { defaultTrainOptions } from '../../runtime/src/train/options.js';
import { snapshot } from '../../runtime/src/train/state.js';
import { Trainer } from '../../runtime/src/train/trainer.js';
import { writeResult } from '../plan/common.js';

process.env.MOE_NUM_THREADS ??= '1';
const RUN = process.env.BENCH_MTP_RUN ?? join(homedir(), '.cache', 'moe-operator', 'mtp-bench');
const TRAIN_SECONDS = Number(process.env.BENCH_MTP_TRAIN_SECONDS ?? 480);
const STEPS = Number(process.env.BENCH_MTP_STEPS ?? 600);
const GEN = Number(process.env.BENCH_MTP_TOKENS ?? 96);
const ROUNDS = Number(process.env.BENCH_MTP_ROUNDS ?? 7);
const PROMPT = 24;

interface TrainRecord { steps: number; seconds: number; mainLoss: number; mtpLoss: number; batch: number; seqLen: number; precision: string; corpusBytes: number; lr: number }

async function train(): Promise<TrainRecord> {
  const recFile = join(RUN, 'bench-train.json');
  if (process.env.BENCH_MTP_REUSE === '1' && existsSync(recFile)) return JSON.parse(readFileSync(recFile, 'utf8')) as TrainRecord;
  const text = syntheticCorpus(1, 400_000);
  const opts = defaultTrainOptions({ precision: 'bf16', batch: 4, seqLen: 64, steps: STEPS, mtpLambda: 0.3, seed: 7, checkpointEvery: 0, keep: 1 });
  const t = new Trainer(opts, byteTokenizer, byteTokenizer.encode(text));
  const t0 = performance.now();
  let m = t.trainStep();
  while (t.step < STEPS && (performance.now() - t0) / 1000 < TRAIN_SECONDS) {
    m = t.trainStep();
    if (t.step % 25 === 0) console.log(`train step ${t.step}: loss ${m.mainLoss.toFixed(3)}, mtp ${m.mtpLoss.toFixed(3)}, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  const rec: TrainRecord = { steps: t.step, seconds: +((performance.now() - t0) / 1000).toFixed(1), mainLoss: +m.mainLoss.toFixed(4), mtpLoss: +m.mtpLoss.toFixed(4), batch: opts.batch, seqLen: opts.seqLen, precision: opts.precision, corpusBytes: text.length, lr: opts.optimizer.lr };
  mkdirSync(RUN, { recursive: true });
  await saveCheckpoint(RUN, t.step, snapshot(t), 1);
  writeFileSync(recFile, JSON.stringify(rec, null, 2));
  return rec;
}

const trained = await train();
console.log(`trained ${trained.steps} steps in ${trained.seconds} s: main loss ${trained.mainLoss}, MTP loss ${trained.mtpLoss} (nats/byte)`);

// Held-out prompts: windows of a corpus drawn with another seed, starting at sentence starts.
const held = syntheticCorpus(99, 60_000);
const starts: number[] = [];
for (let i = held.indexOf('. ') + 2; i > 1 && starts.length < 64; i = held.indexOf('. ', i) + 2) starts.push(i);
const prompts = starts.map((s) => byteTokenizer.encode(held.slice(s, s + PROMPT)));

const base: EngineOptions = { maxBatch: 8, maxQueue: 64, maxSequenceLength: 1024 };
const plain = await Engine.load(RUN, base);
const spec1 = await Engine.load(RUN, { ...base, speculative: { method: 'mtp', tokens: 1 } });
const spec2 = await Engine.load(RUN, { ...base, speculative: { method: 'mtp', tokens: 2 } });
const precision = plain.model.precision;

// Where a step's time goes: the drafter's forwards and the main model's forwards, timed around the engine's calls.
const timers = new Map<Engine, { draftMs: number; mainMs: number }>();
for (const e of [plain, spec1, spec2]) {
  const t = { draftMs: 0, mainMs: 0 };
  timers.set(e, t);
  const m = e.model;
  const run = m.run.bind(m);
  m.run = (...a: Parameters<typeof m.run>) => {
    const t0 = performance.now();
    try {
      return run(...a);
    } finally {
      t.mainMs += performance.now() - t0;
    }
  };
  if (m.mtp) {
    const mtp = m.mtp;
    const fwd = mtp.forward.bind(mtp);
    mtp.forward = (...a: Parameters<typeof mtp.forward>) => {
      const t0 = performance.now();
      try {
        return fwd(...a);
      } finally {
        t.draftMs += performance.now() - t0;
      }
    };
  }
}

interface Run { tokensPerSec: number; tokensPerCpuSec: number; seconds: number; draftMs: number; mainMs: number; acceptance?: number; meanAcceptedLength?: number; tokens: number[][] }

async function decodeRun(e: Engine, B: number, round: number, temperature = 0): Promise<Run> {
  const before = e.stats().speculative;
  const tm = timers.get(e)!;
  const t0 = { ...tm };
  let first = 0;
  let tFirst = 0;
  let cFirst = process.cpuUsage();
  const out: number[][] = Array.from({ length: B }, () => []);
  const params = (i: number): SamplingParams => ({ maxTokens: GEN, temperature, topP: 1, seed: 1000 * round + i, stopTokenIds: [] });
  await Promise.all(Array.from({ length: B }, (_, i) => e.generate({ id: `r${i}`, promptIds: prompts[(round * B + i) % prompts.length], params: params(i) }, (t) => {
    if (out[i].push(t) === 1 && ++first === B) {
      tFirst = performance.now();
      cFirst = process.cpuUsage();
    }
  })));
  const secs = (performance.now() - tFirst) / 1000;
  const cpu = process.cpuUsage(cFirst);
  const cpuSecs = (cpu.user + cpu.system) / 1e6;
  const n = B * (GEN - 1);
  // Prefill included: the drafter's catch-up over the prompt happens at the first decode step.
  const r: Run = { tokensPerSec: +(n / secs).toFixed(1), tokensPerCpuSec: +(n / cpuSecs).toFixed(1), seconds: +secs.toFixed(3), draftMs: +(tm.draftMs - t0.draftMs).toFixed(1), mainMs: +(tm.mainMs - t0.mainMs).toFixed(1), tokens: out };
  const after = e.stats().speculative;
  if (before && after) {
    const drafted = after.drafted - before.drafted, accepted = after.accepted - before.accepted, steps = after.steps - before.steps;
    r.acceptance = +(accepted / drafted).toFixed(4);
    r.meanAcceptedLength = +((accepted + steps) / steps).toFixed(3);
  }
  return r;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = [];
for (const B of [1, 8]) {
  // Warm-up (JIT, packed weights) for all three engines.
  for (const e of [plain, spec1, spec2]) await decodeRun(e, B, 99);
  const runs: Record<'plain' | 'draft1' | 'draft2', Run[]> = { plain: [], draft1: [], draft2: [] };
  let lossless = true;
  for (let r = 0; r < ROUNDS; r++) {
    // Alternating systems within each round; the same prompts for all three.
    const p = await decodeRun(plain, B, r);
    const a = await decodeRun(spec1, B, r);
    const b = await decodeRun(spec2, B, r);
    lossless &&= JSON.stringify(p.tokens) === JSON.stringify(a.tokens) && JSON.stringify(p.tokens) === JSON.stringify(b.tokens);
    runs.plain.push(p);
    runs.draft1.push(a);
    runs.draft2.push(b);
    console.log(`batch ${B} round ${r}: plain ${p.tokensPerSec} tok/s (main ${p.mainMs} ms); draft 1: ${a.tokensPerSec} tok/s (draft ${a.draftMs} ms, main ${a.mainMs} ms) (acceptance ${a.acceptance}); draft 2: ${b.tokensPerSec} tok/s (acceptance ${b.acceptance}, length ${b.meanAcceptedLength})`);
  }
  const sampled = await decodeRun(spec1, B, 50, 1);
  const summary = (rs: Run[]) => ({
    tokensPerSec: median(rs.map((x) => x.tokensPerSec)),
    tokensPerCpuSec: median(rs.map((x) => x.tokensPerCpuSec)),
    // Per run (prefill + decode of the batch): ms in the drafter's forwards and in the main model's forwards.
    draftMs: median(rs.map((x) => x.draftMs)),
    mainMs: median(rs.map((x) => x.mainMs)),
    ...(rs[0].acceptance !== undefined ? { acceptance: median(rs.map((x) => x.acceptance!)), meanAcceptedLength: median(rs.map((x) => x.meanAcceptedLength!)) } : {}),
    rounds: rs.map(({ tokens: _t, ...x }) => x),
  });
  const s = { plain: summary(runs.plain), draft1: summary(runs.draft1), draft2: summary(runs.draft2) };
  const ratio = (k: 'draft1' | 'draft2', f: 'tokensPerSec' | 'tokensPerCpuSec') => +(median(runs[k].map((x, i) => x[f] / runs.plain[i][f]))).toFixed(3);
  results.push({
    batch: B,
    ...s,
    speedup: { draft1: ratio('draft1', 'tokensPerSec'), draft2: ratio('draft2', 'tokensPerSec') },
    speedupPerCpuSecond: { draft1: ratio('draft1', 'tokensPerCpuSec'), draft2: ratio('draft2', 'tokensPerCpuSec') },
    greedyTokensIdentical: lossless,
    sampledDraft1: { temperature: 1, acceptance: sampled.acceptance, meanAcceptedLength: sampled.meanAcceptedLength, tokensPerSec: sampled.tokensPerSec },
  });
  console.log(`batch ${B}: speedup draft1 ×${results.at(-1)!.speedup.draft1}, draft2 ×${results.at(-1)!.speedup.draft2}; greedy identical: ${lossless}; sampled acceptance ${sampled.acceptance}`);
}
await Promise.all([plain.close(), spec1.close(), spec2.close()]);

console.log(`wrote ${writeResult('serve-mtp', {
  cpu: cpus()[0]?.model,
  loadAverage: loadavg().map((x) => +x.toFixed(2)),
  model: 'deepseek-v3-tiny, vocab 256 (bytes), MTP depth 1',
  training: { ...trained, corpus: 'runtime/src/data/grammar.ts syntheticCorpus(seed 1)', mtpLambda: 0.3 },
  serving: { precision, kernels: nativeAvailable() ? kernelInfo() : 'none (TypeScript)', promptTokens: PROMPT, generatedTokens: GEN, rounds: ROUNDS, prompts: 'held-out syntheticCorpus(seed 99), sentence starts' },
  anchor: 'DeepSeek-V3 report §5.4.3: second token accepted 85-90%, 1.8x tokens per second',
  results,
})}`);
