// One process, one model: batches from the sampler, forward+backward in the chosen precision, clipping, AdamW,
// bias updates. Pure of I/O: the CLI does the logging and the saving with what trainStep/snapshot return.
import { modelConfig, type RuntimeModelConfig } from '../model/config.js';
import type { Ctx } from '../model/gemm.js';
import { buildParams, step as modelStep } from '../model/transformer.js';
import type { Params } from '../model/params.js';
import { Rng } from '../model/rng.js';
import { alloc32 } from '../model/tensor.js';
import { Sampler, type BatchSource } from '../data/sampler.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { AdamW, learningRate } from './adamw.js';
import { biasSpread, updateBiases } from './balance.js';
import { precisionCtx } from '../model/precision.js';
import type { TrainOptions } from './options.js';
import { enter, leave } from '../model/profile.js';

export interface StepMetrics {
  step: number;
  loss: number;
  mainLoss: number;
  mtpLoss: number;
  balance: number;
  gradNorm: number;
  lr: number;
  tokens: number;
  seconds: number;
  biasSpread: number;
  /** Tokens per expert for each MoE layer, in layer order. */
  expertLoad: number[][];
}

export class Trainer {
  readonly config: RuntimeModelConfig;
  readonly params: Params;
  readonly sampler: BatchSource;
  readonly ctx: Ctx;
  /** Steps completed. */
  step = 0;

  private whole?: AdamW;

  /**
   * data: a token stream (pre-training: the seeded window sampler) or a batch source (SFT's chat batches).
   * buildHeld: builds the parameters this process holds (a distributed rank, only its own); default the whole model.
   */
  constructor(readonly options: TrainOptions, readonly tokenizer: Tokenizer, data: Int32Array | BatchSource, ctx?: Ctx,
    buildHeld?: (c: RuntimeModelConfig, rng: Rng) => Params) {
    this.config = modelConfig(options.preset, options.overrides);
    if (tokenizer.vocabSize > this.config.vocab_size) throw new Error(`the tokenizer has ${tokenizer.vocabSize} tokens but vocab_size is ${this.config.vocab_size}; raise vocab_size`);
    this.ctx = ctx ?? precisionCtx(options.precision);
    this.params = buildHeld ? buildHeld(this.config, new Rng(options.seed)) : buildParams(this.config, alloc32, new Rng(options.seed));
    this.sampler = data instanceof Int32Array ? new Sampler(data, options.seqLen, options.seqLen + 1 + this.config.num_nextn_predict_layers, options.seed) : data;
  }

  /** The whole-model optimizer, made on first use: distributed engines keep their own sharded one instead. */
  get opt(): AdamW {
    return (this.whole ??= new AdamW(this.params, this.options.optimizer, this.ctx.native === true));
  }

  trainStep(): StepMetrics {
    const t0 = performance.now();
    const { batch, seqLen } = this.options;
    enter('data');
    const b = this.sampler.nextBatch(batch);
    leave();
    enter('optimizer');
    this.params.zeroGrad();
    leave();
    const r = modelStep(this.ctx, this.params, this.config, b.tokens, batch, seqLen,
      { alpha: this.options.alpha, mtpLambda: this.options.mtpLambda, backward: true, segments: b.segments, objective: b.objective });
    if (!Number.isFinite(r.loss)) throw new Error(`loss is ${r.loss} at step ${this.step}: lower --lr or check the data`);
    enter('optimizer');
    const gradNorm = this.opt.clipGrads();
    const lr = learningRate(this.options.optimizer, this.step);
    this.opt.update(this.step, lr);
    updateBiases(this.params, r.counts, this.options.gamma);
    leave();
    this.step++;
    return {
      step: this.step,
      loss: r.loss,
      mainLoss: r.mainLoss,
      mtpLoss: r.mtpLoss,
      balance: r.balance,
      gradNorm,
      lr,
      tokens: batch * seqLen,
      seconds: (performance.now() - t0) / 1000,
      biasSpread: biasSpread(this.params),
      expertLoad: [...r.counts.values()].map((c) => Array.from(c)),
    };
  }

  /** Mean main-model loss on the given windows without updating anything. */
  evaluate(tokens: Int32Array, B: number): number {
    return modelStep(this.ctx, this.params, this.config, tokens, B, this.options.seqLen, { alpha: 0, mtpLambda: 0, backward: false }).mainLoss;
  }
}
