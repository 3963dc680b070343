// The model's forward and backward over decoder layers [from, to) of one batch, with the two ends optional: the
// embedding before layer 0 (else the input activations of the previous range), and after the last layer the final
// norm, the head, the main loss and the MTP modules (depth D: module k combines RMSNorm(Emb(token i+k)) and
// RMSNorm(h^{k-1}_i) through eh_proj, runs one decoder layer and predicts token i+k+1 with the shared head). A batch
// holds B windows of S+1+D tokens. The whole model (transformer.ts step) is the range [0, L) with both ends; a pipeline
// stage (parallel/stage.ts) is its own range. Each layer's MLP runs through a hook (mlp-hook.ts): forwardRange with
// the local layers, synchronously; forwardRangeAsync with a hook that may communicate (expert parallelism).
import { blockSteps, localBack, localMlp, type BlockSteps } from './block.js';
import type { RuntimeModelConfig } from './config.js';
import type { Ctx } from './gemm.js';
import { linear } from './linear.js';
import { crossEntropy, objectiveLoss, type TokenObjective } from './loss.js';
import { callHook, drive, driveAsync, type AsyncMlpFwd, type AsyncMlpHook, type MlpBack, type MlpCall, type MlpFwd, type MlpHook, type MlpOut } from './mlp-hook.js';
import { mtpConcat, mtpSplit } from './mtp-input.js';
import { rmsnorm } from './norm.js';
import type { Params } from './params.js';
import { addInto, type Alloc, type Vec } from './tensor.js';
import { embedBackward, embedForward } from '../native/train-ops.js';
import { segmentStarts } from './token-batch.js';
import { timed } from './profile.js';

export function mtpPrefix(c: RuntimeModelConfig, k: number): string {
  return `model.layers.${c.num_hidden_layers + k}`;
}

export interface LayerRange {
  from: number;
  to: number;
  /** Embed the tokens before layer `from` (the first range); otherwise the input is the previous range's output. */
  embed: boolean;
  /** After layer to-1: final norm, head, main loss and the MTP modules (the last range). */
  head: boolean;
}

export interface RangeOptions {
  /** Sequence-wise balance loss weight α. */
  alpha: number;
  /** MTP loss weight λ. */
  mtpLambda: number;
  /** Micro-batches in the step: every loss and its gradient counts 1/C (1: the whole batch). */
  microBatches: number;
  /** Segment ids of the batch's tokens [B·W] (packed samples; token-batch.ts): attention stays inside a segment. */
  segments?: Int32Array;
  /** A per-token objective in place of mean cross-entropy (loss.ts), for this batch's rows; read by the head end. */
  objective?: TokenObjective;
}

export interface RangeFwd<B> {
  /** Output activations [T, d] (ranges without the head end). */
  y?: Vec;
  /** Main-model logits [B·S, V] (with the head end). */
  logits?: Vec;
  /** Loss parts, weighted by 1/C: the total is main + λ·mean(MTP) + balance (main and MTP zero without the head). */
  loss: number;
  mainLoss: number;
  mtpLoss: number;
  balance: number;
  /** Routed tokens per expert for each MoE layer, by parameter prefix (main layers then MTP layers). */
  counts: Map<string, Int32Array>;
  /** dy: gradient on y (omitted with the head end); returns the gradient on the input (undefined with the embedding). */
  back(dy?: Vec): B;
}

function embed(P: Params, rows: Int32Array, d: number, alloc: Alloc, native = false): { y: Vec; back(dy: Vec): void } {
  const E = P.get('model.embed_tokens.weight');
  const V = E.shape[0];
  if (native && E.data instanceof Float32Array && E.grad instanceof Float32Array) {
    const data = E.data, grad = E.grad;
    // On the addon (float32 tables, the training path): the same copies and sums, in row order.
    return {
      y: timed('ops', () => embedForward(data, rows, V, d)),
      back: (dy) => timed('ops', () => embedBackward(dy as Float32Array, rows, V, d, grad)),
    };
  }
  const y = alloc(rows.length * d);
  timed('ops', () => rows.forEach((tok, i) => y.set(E.data.subarray(tok * d, tok * d + d), i * d)));
  return {
    y,
    back(dy) {
      timed('ops', () => rows.forEach((tok, i) => {
        for (let j = 0; j < d; j++) E.grad[tok * d + j] += dy[i * d + j];
      }));
    },
  };
}

type Steps<M, R> = Generator<MlpCall, R, M>;
type BackSteps<M> = Generator<MlpBack<M>, Vec | undefined, Vec>;

/** The range as a generator: stops at every layer's MLP (main and MTP layers) and, in back(), at every MLP backward. */
function* rangeSteps<M extends MlpOut>(ctx: Ctx, P: Params, c: RuntimeModelConfig, tokens: Int32Array, B: number, S: number,
  r: LayerRange, o: RangeOptions, input: Vec | undefined): Steps<M, RangeFwd<BackSteps<M>>> {
  const D = c.num_nextn_predict_layers, W = S + 1 + D, d = c.hidden_size, V = c.vocab_size, T = B * S;
  const C = o.microBatches;
  const at = (off: number): Int32Array => {
    const out = new Int32Array(B * S);
    for (let b = 0; b < B; b++) out.set(tokens.subarray(b * W + off, b * W + off + S), b * S);
    return out;
  };
  const starts = o.segments ? segmentStarts(o.segments, B, W, S) : undefined;
  const obj = o.objective;
  const counts = new Map<string, Int32Array>();
  let balance = 0;
  let emb: ReturnType<typeof embed> | undefined;
  let h: Vec;
  if (r.embed) {
    emb = embed(P, at(0), d, ctx.alloc, ctx.native);
    h = emb.y;
  } else {
    if (!input || input.length !== T * d) throw new Error(`layers ${r.from}..${r.to - 1}: expected input activations of ${T * d} values`);
    h = input;
  }
  const blocks: BlockSteps<M>[] = [];
  for (let l = r.from; l < r.to; l++) {
    const f: BlockSteps<M> = yield* blockSteps<M>(ctx, P, `model.layers.${l}`, c, l, h, T, S, o.alpha / C, starts);
    if (f.counts) counts.set(`model.layers.${l}.mlp`, f.counts);
    balance += f.balance;
    blocks.push(f);
    h = f.y;
  }
  function* backBlocks(dy: Vec): BackSteps<M> {
    let g = dy;
    for (let i = blocks.length - 1; i >= 0; i--) g = yield* blocks[i].back(g);
    if (emb) {
      emb.back(g);
      return undefined;
    }
    return g;
  }
  if (!r.head) return { y: h, loss: balance, mainLoss: 0, mtpLoss: 0, balance, counts, back: (dy) => backBlocks(dy!) };

  const hMain = h;
  const fn = P.get('model.norm.weight');
  const norm = rmsnorm(hMain, fn.data, fn.grad, T, d, c.rms_norm_eps, ctx.alloc, ctx.native);
  const head = linear(ctx.head, P.get('lm_head.weight'), norm.y, T, ctx.alloc);
  const main = obj ? objectiveLoss(head.y, at(1), T, V, 1 / C, (lp) => obj.main(lp), ctx.alloc) : crossEntropy(head.y, at(1), T, V, 1 / C, ctx.alloc, ctx.native);

  // MTP modules, each fed by the previous depth's hidden states.
  const mtpBacks: ((dNext: Vec) => Generator<MlpBack<M>, Vec, Vec>)[] = [];
  let mtpLoss = 0;
  let hPrev = hMain;
  // An objective without MTP targets (GRPO) skips the MTP modules.
  const depth = obj && !obj.mtp ? 0 : D;
  for (let k = 0; k < depth; k++) {
    const pre = mtpPrefix(c, k);
    const e = embed(P, at(k + 1), d, ctx.alloc, ctx.native);
    const en = P.get(`${pre}.enorm.weight`), hn = P.get(`${pre}.hnorm.weight`);
    const ne = rmsnorm(e.y, en.data, en.grad, T, d, c.rms_norm_eps, ctx.alloc, ctx.native);
    const nh = rmsnorm(hPrev, hn.data, hn.grad, T, d, c.rms_norm_eps, ctx.alloc, ctx.native);
    const cat = mtpConcat(ne.y, nh.y, T, d, ctx.alloc);
    const proj = linear(ctx.head, P.get(`${pre}.eh_proj.weight`), cat, T, ctx.alloc);
    const blk: BlockSteps<M> = yield* blockSteps<M>(ctx, P, pre, c, c.num_hidden_layers + k, proj.y, T, S, o.alpha / C, starts);
    if (blk.counts) counts.set(`${pre}.mlp`, blk.counts);
    balance += blk.balance;
    const sn = P.get(`${pre}.shared_head.norm.weight`);
    const norm2 = rmsnorm(blk.y, sn.data, sn.grad, T, d, c.rms_norm_eps, ctx.alloc, ctx.native);
    const head2 = linear(ctx.head, P.get('lm_head.weight'), norm2.y, T, ctx.alloc);
    const ce = obj?.mtp ? objectiveLoss(head2.y, at(k + 2), T, V, o.mtpLambda / (D * C), (lp) => obj.mtp!(k, lp), ctx.alloc)
      : crossEntropy(head2.y, at(k + 2), T, V, o.mtpLambda / (D * C), ctx.alloc, ctx.native);
    mtpLoss += ce.loss / D;
    // Backward of module k: returns the gradient on its input hidden states hPrev.
    mtpBacks.push(function* (dNext) {
      const dBlkOut = norm2.back(head2.back(ce.dlogits));
      // dNext: gradient reaching this module's output states from the next depth's hnorm.
      if (dNext.length > 0) addInto(dBlkOut, dNext, ctx.native);
      const dCat = proj.back(yield* blk.back(dBlkOut));
      const { dne, dnh } = mtpSplit(dCat, T, d, ctx.alloc);
      e.back(ne.back(dne));
      return nh.back(dnh);
    });
    hPrev = blk.y;
  }
  return {
    logits: head.y,
    loss: (main.loss + o.mtpLambda * mtpLoss) / C + balance,
    mainLoss: main.loss / C, mtpLoss: mtpLoss / C, balance, counts,
    *back() {
      const dh = norm.back(head.back(main.dlogits));
      // Depth k's output feeds depth k+1's hnorm: walk the MTP chain from the deepest module back.
      let dChain: Vec | undefined;
      for (let k = depth - 1; k >= 0; k--) dChain = yield* mtpBacks[k](dChain ?? ctx.alloc(0));
      if (dChain) addInto(dh, dChain, ctx.native);
      return yield* backBlocks(dh);
    },
  };
}

/** tokens: B windows of S+1+D tokens; input: the previous range's activations (without the embedding end). */
export function forwardRange(ctx: Ctx, P: Params, c: RuntimeModelConfig, tokens: Int32Array, B: number, S: number, r: LayerRange,
  o: RangeOptions, input?: Vec, mlp: MlpHook = localMlp): RangeFwd<Vec | undefined> {
  const f = drive(rangeSteps<MlpFwd>(ctx, P, c, tokens, B, S, r, o, input), callHook(mlp, ctx, P, c));
  return { ...f, back: (dy) => drive(f.back(dy), localBack) };
}

/** forwardRange with a hook that may communicate: awaits its MLP calls and their backwards, nothing else. */
export async function forwardRangeAsync(ctx: Ctx, P: Params, c: RuntimeModelConfig, tokens: Int32Array, B: number, S: number,
  r: LayerRange, o: RangeOptions, input: Vec | undefined, mlp: AsyncMlpHook): Promise<RangeFwd<Promise<Vec | undefined>>> {
  const f = await driveAsync(rangeSteps<AsyncMlpFwd>(ctx, P, c, tokens, B, S, r, o, input), callHook(mlp, ctx, P, c));
  return { ...f, back: (dy) => driveAsync(f.back(dy), (b) => b.of.back(b.dy)) };
}
