// One training-speed measurement in this process (the kernel thread count is fixed per process by MOE_NUM_THREADS,
// so train.bench.ts runs this once per thread count): the tiny preset on the shipped corpus, `steps` steps of one
// precision, MTP on or off; prints one JSON line with the median step time and the per-part breakdown (profile.ts):
//   node dist/bench/train/train-speed.js '{"precision":"fp8","mtp":true,"steps":8}'
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { byteTokenizer } from '../../runtime/src/data/tokenizer.js';
import { Trainer } from '../../runtime/src/train/trainer.js';
import { defaultTrainOptions } from '../../runtime/src/train/options.js';
import { nativeAvailable, PRECISIONS, type Precision } from '../../runtime/src/model/precision.js';
import { kernelInfo } from '../../runtime/src/native/index.js';
import { PARTS, profiling, takeProfile, type Part } from '../../runtime/src/model/profile.js';

export interface SpeedSpec {
  precision: Precision;
  mtp: boolean;
  steps: number;
  batch?: number;
  seqLen?: number;
  seed?: number;
}

export interface SpeedResult {
  precision: Precision;
  mtp: boolean;
  threads: number;
  kernelPath: string;
  tokensPerSec: number;
  stepSeconds: number;
  /** Process CPU seconds per step (every thread: the kernel pool's and V8's), median over the measured steps. */
  cpuSecondsPerStep: number;
  /** Tokens per CPU-second of the process: the figure that a shared machine's load disturbs least. */
  tokensPerCpuSec: number;
  /**
   * Milliseconds per step by part, medians over the measured steps (the parts of one step add up to it), on the
   * process's CPU clock (profile.ts 'cpu': every thread), which the shared machine's load disturbs far less than wall
   * time; at 2 kernel threads a part's CPU time can exceed its wall time.
   */
  breakdownMs: Record<Part, number>;
  breakdownClock: 'cpu';
  losses: number[];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b), m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export function measure(spec: SpeedSpec): SpeedResult {
  if (!PRECISIONS.includes(spec.precision)) throw new Error(`train-speed: precision must be one of ${PRECISIONS.join(', ')}, got ${String(spec.precision)}`);
  if (!(Number.isInteger(spec.steps) && spec.steps >= 2)) throw new Error(`train-speed: steps must be an integer >= 2 (the first is warm-up), got ${String(spec.steps)}`);
  const text = readFileSync(new URL('../../../examples/corpus/fables.txt', import.meta.url), 'utf8');
  const all = byteTokenizer.encode(text);
  const trainTokens = all.subarray(0, Math.floor(all.length * 0.95));
  const opts = defaultTrainOptions({ precision: spec.precision, steps: spec.steps, checkpointEvery: 0, seed: spec.seed ?? 1234,
    batch: spec.batch ?? 8, seqLen: spec.seqLen ?? 64, mtpLambda: spec.mtp ? 0.3 : 0 });
  // MTP off: no MTP modules at all (depth 0), as transformers' model has none.
  if (!spec.mtp) opts.overrides = { ...opts.overrides, num_nextn_predict_layers: 0 };
  const t = new Trainer(opts, byteTokenizer, trainTokens);
  const secs: number[] = [];
  const cpu: number[] = [];
  const parts: Record<Part, number>[] = [];
  const losses: number[] = [];
  profiling(true, 'cpu');
  for (let i = 0; i < spec.steps; i++) {
    takeProfile();
    const c0 = process.cpuUsage();
    const m = t.trainStep();
    const c1 = process.cpuUsage(c0);
    const p = takeProfile();
    losses.push(m.mainLoss);
    if (i === 0) continue;
    secs.push(m.seconds);
    cpu.push((c1.user + c1.system) / 1e6);
    parts.push(p);
  }
  profiling(false);
  const step = median(secs);
  const breakdownMs = Object.fromEntries(PARTS.map((k) => [k, median(parts.map((p) => p[k]))])) as Record<Part, number>;
  const info = nativeAvailable() ? kernelInfo() : { path: 'none (TypeScript emulation)', threads: 1 };
  const cpuStep = median(cpu);
  return { precision: spec.precision, mtp: spec.mtp, threads: info.threads, kernelPath: info.path, tokensPerSec: (opts.batch * opts.seqLen) / step, stepSeconds: step,
    cpuSecondsPerStep: cpuStep, tokensPerCpuSec: (opts.batch * opts.seqLen) / cpuStep, breakdownMs, breakdownClock: 'cpu', losses };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as SpeedSpec;
  console.log(JSON.stringify(measure(spec)));
}
