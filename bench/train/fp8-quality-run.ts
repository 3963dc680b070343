// One training run of the FP8-vs-BF16 quality bench (fp8-quality.bench.ts), in its own process: the tiny preset on
// the shipped corpus's first 95%, `steps` steps of one variant from `seed`, the held-out loss on a fixed set of
// windows from the last 5% every `evalEvery` steps (and at step 0). Prints one JSON line; also fingerprints of the
// initial weights and of every training batch, so the bench can check that a pair really shares init and data order.
//   node dist/bench/train/fp8-quality-run.js '{"variant":"fp8","seed":1,"steps":60,"evalEvery":10,"evalWindows":128}'
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { byteTokenizer } from '../../runtime/src/data/tokenizer.js';
import { Trainer } from '../../runtime/src/train/trainer.js';
import { defaultTrainOptions } from '../../runtime/src/train/options.js';
import { precisionCtx } from '../../runtime/src/model/precision.js';
import type { Ctx } from '../../runtime/src/model/gemm.js';
import type { Vec } from '../../runtime/src/model/tensor.js';

/** fp8: the recipe (FP8 linears, BF16 head and MTP projection); bf16: every GEMM BF16; fp8-head: ablation, head FP8 too. */
export const VARIANTS = ['fp8', 'bf16', 'fp8-head'] as const;
export type Variant = (typeof VARIANTS)[number];

export interface RunSpec {
  variant: Variant;
  seed: number;
  steps: number;
  evalEvery: number;
  /** Held-out windows (seqLen + 1 + MTP depth tokens each, starting every seqLen tokens) in the fixed evaluation set. */
  evalWindows: number;
  /** Peak learning rate (the schedule's minimum is a tenth of it); default the trainer's 3e-3. */
  lr?: number;
}

export interface RunResult {
  spec: RunSpec;
  /** Main-model training loss of each step. */
  trainLoss: number[];
  /** Held-out loss at step 0, every evalEvery steps and at the last step. */
  evals: { step: number; loss: number }[];
  initHash: string;
  dataHash: string;
  tokensPerSec: number;
  seconds: number;
}

/** FNV-1a over the bytes of a sequence of typed arrays, as 8 hex digits. */
class Fingerprint {
  private h = 0x811c9dc5;
  add(a: Vec | Int32Array): void {
    const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    let h = this.h;
    for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193);
    this.h = h;
  }
  hex(): string {
    return (this.h >>> 0).toString(16).padStart(8, '0');
  }
}

function ctxFor(v: Variant): Ctx {
  if (v === 'fp8-head') {
    const c = precisionCtx('fp8');
    return { ...c, head: c.linear };
  }
  return precisionCtx(v);
}

export function runOnce(spec: RunSpec): RunResult {
  if (!VARIANTS.includes(spec.variant)) throw new Error(`fp8-quality-run: variant must be one of ${VARIANTS.join(', ')}, got ${String(spec.variant)}`);
  for (const k of ['seed', 'steps', 'evalEvery', 'evalWindows'] as const) {
    if (!Number.isInteger(spec[k]) || spec[k] < (k === 'seed' ? 0 : 1)) throw new Error(`fp8-quality-run: ${k} must be a positive integer, got ${String(spec[k])}`);
  }
  const text = readFileSync(new URL('../../../examples/corpus/fables.txt', import.meta.url), 'utf8');
  const all = byteTokenizer.encode(text);
  const cut = Math.floor(all.length * 0.95);
  const precision = spec.variant === 'bf16' ? 'bf16' : 'fp8';
  const opts = defaultTrainOptions({ precision, steps: spec.steps, checkpointEvery: 0, seed: spec.seed });
  if (spec.lr !== undefined) {
    if (!(spec.lr > 0)) throw new Error(`fp8-quality-run: lr must be > 0, got ${String(spec.lr)}`);
    opts.optimizer = { ...opts.optimizer, lr: spec.lr, minLr: spec.lr / 10 };
  }
  const t = new Trainer(opts, byteTokenizer, all.subarray(0, cut), ctxFor(spec.variant));
  const init = new Fingerprint();
  for (const p of t.params.list()) init.add(p.data);
  // Every batch the trainer's own sampler hands out goes into the data fingerprint.
  const data = new Fingerprint();
  const next = t.sampler.nextBatch.bind(t.sampler);
  t.sampler.nextBatch = (B) => {
    const b = next(B);
    data.add(b.tokens);
    return b;
  };
  // The fixed held-out set: consecutive windows of the held-out text, the same for every run.
  const W = opts.seqLen + 1 + t.config.num_nextn_predict_layers;
  const heldOut = all.subarray(cut);
  const maxWindows = Math.floor((heldOut.length - W) / opts.seqLen) + 1;
  if (spec.evalWindows > maxWindows) throw new Error(`fp8-quality-run: evalWindows ${spec.evalWindows} exceeds the ${maxWindows} windows of the held-out text`);
  const B = opts.batch;
  const evaluate = (): number => {
    let sum = 0;
    for (let w0 = 0; w0 < spec.evalWindows; w0 += B) {
      const n = Math.min(B, spec.evalWindows - w0);
      const tokens = new Int32Array(n * W);
      for (let i = 0; i < n; i++) tokens.set(heldOut.subarray((w0 + i) * opts.seqLen, (w0 + i) * opts.seqLen + W), i * W);
      // evaluate() is the mean over its windows' positions; weight by windows so the total is the mean over all.
      sum += t.evaluate(tokens, n) * n;
    }
    return sum / spec.evalWindows;
  };
  const evals = [{ step: 0, loss: evaluate() }];
  const trainLoss: number[] = [];
  let trainSeconds = 0;
  const t0 = performance.now();
  for (let i = 1; i <= spec.steps; i++) {
    const m = t.trainStep();
    trainLoss.push(m.mainLoss);
    trainSeconds += m.seconds;
    if (i % spec.evalEvery === 0 || i === spec.steps) evals.push({ step: i, loss: evaluate() });
  }
  return { spec, trainLoss, evals, initHash: init.hex(), dataHash: data.hex(), tokensPerSec: (spec.steps * B * opts.seqLen) / trainSeconds,
    seconds: (performance.now() - t0) / 1000 };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.env.MOE_NUM_THREADS ??= '1';
  console.log(JSON.stringify(runOnce(JSON.parse(process.argv[2] ?? '{}') as RunSpec)));
}
