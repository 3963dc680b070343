// Training benchmark on the deepseek-v3-tiny preset and the shipped corpus:
//  1. FP8 vs BF16: for each of BENCH_SEEDS seeds, the same seed and data trained BENCH_TRAIN_STEPS steps in each
//     precision; relative difference of the held-out loss (4 batches) and of the mean of the last 10 training losses,
//     paired per seed, with the spread across seeds. The report's bar is < 0.25%; on a model this small trained this
//     briefly, trajectories of any two precisions drift apart by a few percent either way (see seedSpread), so the
//     mean over seeds and its standard error are the numbers to read.
//  2. Throughput (speed-rounds.ts): every mode's training tokens/s with a per-part breakdown of the step, against
//     transformers' DeepseekV3ForCausalLM on PyTorch (hf_train_peer.py), same model shape, batch, sequence length and
//     thread count, in alternating rounds at 1 and 2 kernel threads; FP8/BF16 and FP8/transformers ratios.
// BENCH_SEEDS=0 skips part 1.
// Writes bench/results/train.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { byteTokenizer } from '../../runtime/src/data/tokenizer.js';
import { Sampler } from '../../runtime/src/data/sampler.js';
import { Trainer } from '../../runtime/src/train/trainer.js';
import { defaultTrainOptions } from '../../runtime/src/train/options.js';
import { nativeAvailable, type Precision } from '../../runtime/src/model/precision.js';
import { kernelInfo } from '../../runtime/src/native/index.js';
import { speedRounds } from './speed-rounds.js';

// Until the native pool's stale-worker race is fixed (a chunk can be run twice and the caller then waits forever;
// seen once in ~75 training steps on 2 threads), part 1 runs on one kernel thread (MOE_NUM_THREADS overrides); part 2
// runs 1 and 2 threads, each measurement in its own process under a time limit.
process.env.MOE_NUM_THREADS ??= '1';
const STEPS = Number(process.env.BENCH_TRAIN_STEPS ?? 60);
const SEEDS = Number(process.env.BENCH_SEEDS ?? 3);
const text = readFileSync(new URL('../../../examples/corpus/fables.txt', import.meta.url), 'utf8');
const all = byteTokenizer.encode(text);
// Hold out the last 5% of the corpus for the evaluation batch.
const cut = Math.floor(all.length * 0.95);
const trainTokens = all.subarray(0, cut);
const heldOut = all.subarray(cut);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function run(precision: Precision, seed: number): { losses: number[]; heldOut: number; tokensPerSec: number; stepSeconds: number } {
  const opts = defaultTrainOptions({ precision, steps: STEPS, checkpointEvery: 0, seed });
  const t = new Trainer(opts, byteTokenizer, trainTokens);
  const losses: number[] = [];
  const secs: number[] = [];
  for (let i = 0; i < STEPS; i++) {
    const m = t.trainStep();
    losses.push(m.mainLoss);
    secs.push(m.seconds);
    process.stderr.write(`\r${precision} seed ${seed} step ${m.step}/${STEPS} loss ${m.mainLoss.toFixed(4)} ${(m.tokens / m.seconds).toFixed(0)} tok/s   `);
  }
  process.stderr.write('\n');
  const evalSampler = new Sampler(heldOut, opts.seqLen, opts.seqLen + 1 + t.config.num_nextn_predict_layers, 99);
  // Four held-out batches (32 windows) smooth out the batch-to-batch noise of one.
  let held = 0;
  for (let i = 0; i < 4; i++) held += t.evaluate(evalSampler.next(opts.batch), opts.batch) / 4;
  const step = median(secs.slice(1));
  return { losses, heldOut: held, tokensPerSec: (opts.batch * opts.seqLen) / step, stepSeconds: step };
}


const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const info = nativeAvailable() ? kernelInfo() : { path: 'none (TypeScript emulation)', threads: 1 };
const last = Math.min(10, STEPS);
const std = (xs: number[]): number => Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / Math.max(1, xs.length - 1));
// Student's t, two-sided 95%, by degrees of freedom (1..10; 1.96 beyond 30, a conservative 2.09 in between).
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];
const t95 = (df: number): number => T95[df - 1] ?? (df > 30 ? 1.96 : 2.09);
/** The 95% interval of the mean of paired differences (one per seed; the seed fixes init and data order for both). */
const interval95 = (xs: number[]): [number, number] | null => {
  if (xs.length < 2) return null;
  const h = t95(xs.length - 1) * std(xs) / Math.sqrt(xs.length);
  return [mean(xs) - h, mean(xs) + h];
};
const perSeed = Array.from({ length: SEEDS }, (_, i) => {
  const seed = 1234 + i;
  const fp8 = run('fp8', seed);
  const bf16 = run('bf16', seed);
  return {
    seed,
    fp8,
    bf16,
    relHeldOut: (fp8.heldOut - bf16.heldOut) / bf16.heldOut,
    relLast10: (mean(fp8.losses.slice(-last)) - mean(bf16.losses.slice(-last))) / mean(bf16.losses.slice(-last)),
  };
});
const fp8 = perSeed[0]?.fp8 ?? { losses: [] };
const bf16 = perSeed[0]?.bf16 ?? { losses: [] };
const relHeld = perSeed.map((p) => p.relHeldOut);
const relLast = perSeed.map((p) => p.relLast10);
// How far two seeds of the same precision land apart: the noise floor of the comparison.
const bfHeld = perSeed.map((p) => p.bf16.heldOut);
const seedSpread = SEEDS > 1 ? std(bfHeld) / mean(bfHeld) : null;

const speed = speedRounds();
const result = {
  bench: 'train',
  preset: 'deepseek-v3-tiny',
  batch: 8,
  seqLen: 64,
  steps: STEPS,
  kernels: info,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
  loadAverage: loadavg(),
  seeds: SEEDS,
  speed,
  fp8: { heldOutLossBySeed: perSeed.map((p) => p.fp8.heldOut), losses: fp8.losses },
  bf16: { heldOutLossBySeed: perSeed.map((p) => p.bf16.heldOut), losses: bf16.losses },
  fp8VsBf16: {
    relativeDiffHeldOutBySeed: relHeld,
    relativeDiffHeldOutMean: mean(relHeld),
    relativeDiffHeldOutStdErr: SEEDS > 1 ? std(relHeld) / Math.sqrt(SEEDS) : null,
    relativeDiffHeldOut95: interval95(relHeld),
    // The bar is resolved when the interval is narrower than ±0.25%; it is then inside or outside it.
    intervalNarrowerThanBar: (() => { const ci = interval95(relHeld); return ci ? (ci[1] - ci[0]) / 2 < 0.0025 : false; })(),
    relativeDiffLast10BySeed: relLast,
    relativeDiffLast10Mean: mean(relLast),
    seedSpread,
    bar: 0.0025,
    withinBar: Math.abs(mean(relHeld)) < 0.0025,
  },
  note: 'tokens/s are medians over steps after the first, then over rounds; the machine is shared, so absolute numbers vary run to run',
};
mkdirSync(new URL('../../../bench/results/', import.meta.url), { recursive: true });
writeFileSync(new URL('../../../bench/results/train.json', import.meta.url), JSON.stringify(result, null, 2));
console.log(JSON.stringify({ ...result, fp8: { ...result.fp8, losses: undefined }, bf16: { ...result.bf16, losses: undefined } }, null, 2));
