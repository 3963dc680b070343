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
import { modelConfig } from '../../runtime/src/model/config.js';
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
  /** Peak learning rate; default the trainer's 3e-3. */
  lr?: number;
  /** The cosine schedule's final lr as a fraction of the peak; default the trainer's 0.1. */
  minLrRatio?: number;
  /** Warm-up steps; default the trainer's min(30, steps / 10). */
  warmup?: number;
  /** Sequences per step; default the trainer's 8. */
  batch?: number;
  /** Every layer dense (first_k_dense_replace = num_hidden_layers): a control without routing. */
  dense?: boolean;
  /** Expert-bias update speed γ (aux-loss-free balancing); default the trainer's 0.001. */
  gamma?: number;
  /**
   * Also evaluate an exponential moving average of the weights with this decay per step (DeepSeek-V3 keeps one to
   * estimate the model after lr decay): it averages out the step-to-step jitter of the iterates.
   */
  ema?: number;
}

export interface RunResult {
  spec: RunSpec;
  /** Main-model training loss of each step. */
  trainLoss: number[];
  /** Held-out loss at step 0, every evalEvery steps and at the last step. */
  evals: { step: number; loss: number }[];
  /** With spec.ema: the held-out loss of the weights' moving average at the same steps. */
  emaEvals?: { step: number; loss: number }[];
  /** The schedule and model the run actually used (the spec's knobs resolved against the trainer's defaults). */
  setup: { lr: number; minLr: number; warmupSteps: number; batch: number; seqLen: number; gamma: number; mtpLambda: number; denseLayers: number; layers: number };
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
  if (spec.lr !== undefined && !(spec.lr > 0 && spec.lr < 1)) throw new Error(`fp8-quality-run: lr must be in (0, 1), got ${String(spec.lr)}`);
  if (spec.minLrRatio !== undefined && !(spec.minLrRatio >= 0 && spec.minLrRatio <= 1)) throw new Error(`fp8-quality-run: minLrRatio must be in [0, 1], got ${String(spec.minLrRatio)}`);
  if (spec.warmup !== undefined && !(Number.isInteger(spec.warmup) && spec.warmup >= 1)) throw new Error(`fp8-quality-run: warmup must be an integer >= 1, got ${String(spec.warmup)}`);
  if (spec.batch !== undefined && !(Number.isInteger(spec.batch) && spec.batch >= 1)) throw new Error(`fp8-quality-run: batch must be an integer >= 1, got ${String(spec.batch)}`);
  if (spec.ema !== undefined && !(spec.ema >= 0 && spec.ema < 1)) throw new Error(`fp8-quality-run: ema must be a decay in [0, 1), got ${String(spec.ema)}`);
  if (spec.gamma !== undefined && !(spec.gamma >= 0)) throw new Error(`fp8-quality-run: gamma must be >= 0, got ${String(spec.gamma)}`);
  const lr = spec.lr ?? opts.optimizer.lr;
  opts.optimizer = { ...opts.optimizer, lr, minLr: lr * (spec.minLrRatio ?? 0.1), warmupSteps: spec.warmup ?? opts.optimizer.warmupSteps };
  if (spec.batch !== undefined) opts.batch = spec.batch;
  if (spec.gamma !== undefined) opts.gamma = spec.gamma;
  if (spec.dense) opts.overrides = { ...opts.overrides, first_k_dense_replace: modelConfig(opts.preset, opts.overrides).num_hidden_layers };
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
  // The moving average of the weights (the routers' bias buffers stay live); evaluated by swapping it in and back.
  const params = t.params.list();
  const ema = spec.ema === undefined ? undefined : params.map((p) => Float32Array.from(p.data));
  const evaluateEma = (): number => {
    const live = params.map((p) => Float32Array.from(p.data));
    params.forEach((p, j) => p.data.set(ema![j]));
    try {
      return evaluate();
    } finally {
      params.forEach((p, j) => p.data.set(live[j]));
    }
  };
  const evals = [{ step: 0, loss: evaluate() }];
  const emaEvals = ema ? [{ step: 0, loss: evaluateEma() }] : undefined;
  const trainLoss: number[] = [];
  let trainSeconds = 0;
  const t0 = performance.now();
  for (let i = 1; i <= spec.steps; i++) {
    const m = t.trainStep();
    trainLoss.push(m.mainLoss);
    trainSeconds += m.seconds;
    if (ema) {
      const d = spec.ema!;
      params.forEach((p, j) => {
        const e = ema[j], x = p.data;
        for (let k = 0; k < e.length; k++) e[k] = d * e[k] + (1 - d) * x[k];
      });
    }
    if (i % spec.evalEvery === 0 || i === spec.steps) {
      evals.push({ step: i, loss: evaluate() });
      emaEvals?.push({ step: i, loss: evaluateEma() });
    }
  }
  const o = opts.optimizer;
  const setup = { lr: o.lr, minLr: o.minLr, warmupSteps: o.warmupSteps, batch: B, seqLen: opts.seqLen, gamma: opts.gamma, mtpLambda: opts.mtpLambda,
    denseLayers: t.config.first_k_dense_replace, layers: t.config.num_hidden_layers };
  return { spec, trainLoss, evals, ...(emaEvals ? { emaEvals } : {}), setup, initHash: init.hex(), dataHash: data.hex(), tokensPerSec: (spec.steps * B * opts.seqLen) / trainSeconds,
    seconds: (performance.now() - t0) / 1000 };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.env.MOE_NUM_THREADS ??= '1';
  console.log(JSON.stringify(runOnce(JSON.parse(process.argv[2] ?? '{}') as RunSpec)));
}
