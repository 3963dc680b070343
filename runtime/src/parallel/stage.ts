// One pipeline stage's forward and backward for one micro-batch, built from the model's own layer functions
// (block, rmsnorm, linear, crossEntropy). Stage 0 embeds; the last stage owns the final norm, the head, the loss and
// the MTP modules (which also read the embedding: its gradient from there is summed with stage 0's by the engine).
// This repeats model.step's wiring split at layer boundaries: transformer.ts offers no per-layer-range entry point.
import { block } from '../model/block.js';
import type { RuntimeModelConfig } from '../model/config.js';
import type { Ctx } from '../model/gemm.js';
import { linear } from '../model/linear.js';
import { crossEntropy } from '../model/loss.js';
import { mtpPrefix } from '../model/transformer.js';
import { rmsnorm } from '../model/norm.js';
import type { Params } from '../model/params.js';
import type { Vec } from '../model/tensor.js';
import { stageLayerRange } from './param-placement.js';

/** Layers [from, to) of stage `s` out of `stages`: the planner's split (param-placement.ts), which also says who holds them. */
export const stageLayers = stageLayerRange;

export interface StageOptions {
  /** Micro-batches per step: each one's loss counts 1/C of the step's. */
  microBatches: number;
  alpha: number;
  mtpLambda: number;
}

/** A decoder layer whose backward may communicate (expert parallelism). */
export interface AsyncBlockFwd {
  y: Vec;
  counts?: Int32Array;
  balance: number;
  back(dy: Vec): Promise<Vec>;
}

export type BlockFn = (ctx: Ctx, P: Params, prefix: string, c: RuntimeModelConfig, layer: number, h: Vec, T: number,
  S: number, alpha: number) => Promise<AsyncBlockFwd>;

/** The model's own decoder layer, unchanged. */
export const localBlock: BlockFn = async (ctx, P, prefix, c, layer, h, T, S, alpha) => {
  const f = block(ctx, P, prefix, c, layer, h, T, S, alpha);
  return { y: f.y, counts: f.counts, balance: f.balance, back: async (dy) => f.back(dy) };
};

export interface StageFwd {
  /** Output activations [T, d] (not on the last stage). */
  y?: Vec;
  /** Loss parts, already weighted by 1/C (last stage only; zero elsewhere). */
  loss: number;
  mainLoss: number;
  mtpLoss: number;
  balance: number;
  counts: Map<string, Int32Array>;
  /** dy: gradient on y (omitted on the last stage); returns the gradient on the input (undefined on stage 0). */
  back(dy?: Vec): Promise<Vec | undefined>;
}

function embed(P: Params, rows: number[], d: number, ctx: Ctx): { y: Vec; back(dy: Vec): void } {
  const E = P.get('model.embed_tokens.weight');
  const y = ctx.alloc(rows.length * d);
  rows.forEach((tok, i) => y.set(E.data.subarray(tok * d, tok * d + d), i * d));
  return {
    y,
    back(dy) {
      rows.forEach((tok, i) => {
        for (let j = 0; j < d; j++) E.grad[tok * d + j] += dy[i * d + j];
      });
    },
  };
}

/** tokens: B windows of S+1+D tokens; input: the previous stage's activations (stages > 0). */
export async function stageForward(ctx: Ctx, P: Params, c: RuntimeModelConfig, stage: number, stages: number,
  tokens: Int32Array, B: number, S: number, o: StageOptions, input?: Vec, blockFn: BlockFn = localBlock): Promise<StageFwd> {
  const D = c.num_nextn_predict_layers, W = S + 1 + D, d = c.hidden_size, V = c.vocab_size, T = B * S;
  const C = o.microBatches;
  const at = (off: number): number[] => {
    const out: number[] = [];
    for (let b = 0; b < B; b++) for (let i = 0; i < S; i++) out.push(tokens[b * W + i + off]);
    return out;
  };
  const counts = new Map<string, Int32Array>();
  let balance = 0;
  const { from, to } = stageLayers(c.num_hidden_layers, stages, stage);
  let emb: ReturnType<typeof embed> | undefined;
  let h: Vec;
  if (stage === 0) {
    emb = embed(P, at(0), d, ctx);
    h = emb.y;
  } else {
    if (!input || input.length !== T * d) throw new Error(`stage ${stage}: expected input activations of ${T * d} values`);
    h = input;
  }
  const blocks: AsyncBlockFwd[] = [];
  for (let l = from; l < to; l++) {
    const f = await blockFn(ctx, P, `model.layers.${l}`, c, l, h, T, S, o.alpha / C);
    if (f.counts) counts.set(`model.layers.${l}.mlp`, f.counts);
    balance += f.balance;
    blocks.push(f);
    h = f.y;
  }
  const backBlocks = async (dy: Vec): Promise<Vec | undefined> => {
    let g = dy;
    for (let i = blocks.length - 1; i >= 0; i--) g = await blocks[i].back(g);
    if (emb) {
      emb.back(g);
      return undefined;
    }
    return g;
  };
  if (stage < stages - 1) {
    return { y: h, loss: balance, mainLoss: 0, mtpLoss: 0, balance, counts, back: (dy) => backBlocks(dy!) };
  }

  // Last stage: final norm, head, main loss, then the MTP chain (as model.step).
  const hMain = h;
  const fn = P.get('model.norm.weight');
  const norm = rmsnorm(hMain, fn.data, fn.grad, T, d, c.rms_norm_eps, ctx.alloc);
  const head = linear(ctx.head, P.get('lm_head.weight'), norm.y, T, ctx.alloc);
  const main = crossEntropy(head.y, at(1), T, V, 1 / C, ctx.alloc);
  const mtpBacks: ((dNext: Vec) => Promise<Vec>)[] = [];
  let mtpLoss = 0;
  let hPrev = hMain;
  for (let k = 0; k < D; k++) {
    const pre = mtpPrefix(c, k);
    const e = embed(P, at(k + 1), d, ctx);
    const en = P.get(`${pre}.enorm.weight`), hn = P.get(`${pre}.hnorm.weight`);
    const ne = rmsnorm(e.y, en.data, en.grad, T, d, c.rms_norm_eps, ctx.alloc);
    const nh = rmsnorm(hPrev, hn.data, hn.grad, T, d, c.rms_norm_eps, ctx.alloc);
    const cat = ctx.alloc(T * 2 * d);
    for (let t = 0; t < T; t++) {
      cat.set(ne.y.subarray(t * d, t * d + d), t * 2 * d);
      cat.set(nh.y.subarray(t * d, t * d + d), t * 2 * d + d);
    }
    const proj = linear(ctx.head, P.get(`${pre}.eh_proj.weight`), cat, T, ctx.alloc);
    const blk = await blockFn(ctx, P, pre, c, c.num_hidden_layers + k, proj.y, T, S, o.alpha / C);
    if (blk.counts) counts.set(`${pre}.mlp`, blk.counts);
    balance += blk.balance;
    const sn = P.get(`${pre}.shared_head.norm.weight`);
    const norm2 = rmsnorm(blk.y, sn.data, sn.grad, T, d, c.rms_norm_eps, ctx.alloc);
    const head2 = linear(ctx.head, P.get('lm_head.weight'), norm2.y, T, ctx.alloc);
    const ce = crossEntropy(head2.y, at(k + 2), T, V, o.mtpLambda / (D * C), ctx.alloc);
    mtpLoss += ce.loss / D;
    mtpBacks.push(async (dNext) => {
      const dBlkOut = norm2.back(head2.back(ce.dlogits));
      if (dNext.length > 0) for (let i = 0; i < dBlkOut.length; i++) dBlkOut[i] += dNext[i];
      const dCat = proj.back(await blk.back(dBlkOut));
      const dne = ctx.alloc(T * d), dnh = ctx.alloc(T * d);
      for (let t = 0; t < T; t++) {
        for (let j = 0; j < d; j++) {
          dne[t * d + j] = dCat[t * 2 * d + j];
          dnh[t * d + j] = dCat[t * 2 * d + d + j];
        }
      }
      e.back(ne.back(dne));
      return nh.back(dnh);
    });
    hPrev = blk.y;
  }
  return {
    loss: (main.loss + o.mtpLambda * mtpLoss) / C + balance,
    mainLoss: main.loss / C, mtpLoss: mtpLoss / C, balance, counts,
    async back() {
      const dh = norm.back(head.back(main.dlogits));
      let dChain: Vec | undefined;
      for (let k = D - 1; k >= 0; k--) dChain = await mtpBacks[k](dChain ?? ctx.alloc(0));
      if (dChain) for (let i = 0; i < dh.length; i++) dh[i] += dChain[i];
      return backBlocks(dh);
    },
  };
}
