// The whole DeepSeek-V3-style model: embedding → decoder layers → final norm → head, plus the MTP modules (depth D:
// module k combines RMSNorm(Emb(token i+k)) and RMSNorm(h^{k-1}_i) through eh_proj, runs one MoE decoder layer and
// predicts token i+k+1 with the shared head). A batch holds B windows of S+1+D tokens.
import { addBlockParams, block, type BlockFwd } from './block.js';
import type { RuntimeModelConfig } from './config.js';
import type { Ctx } from './gemm.js';
import { linear } from './linear.js';
import { crossEntropy } from './loss.js';
import { rmsnorm } from './norm.js';
import { Params } from './params.js';
import type { Rng } from './rng.js';
import type { Alloc, Vec } from './tensor.js';

export function mtpPrefix(c: RuntimeModelConfig, k: number): string {
  return `model.layers.${c.num_hidden_layers + k}`;
}

/** All parameters with DeepSeek's names, initialised: matrices ~ N(0, initializer_range²), norms 1, biases 0. */
export function buildParams(c: RuntimeModelConfig, alloc: Alloc, rng: Rng): Params {
  const P = new Params(alloc);
  const d = c.hidden_size;
  P.add('model.embed_tokens.weight', [c.vocab_size, d], false);
  for (let l = 0; l < c.num_hidden_layers; l++) addBlockParams(P, `model.layers.${l}`, c, l);
  P.add('model.norm.weight', [d], false);
  P.add('lm_head.weight', [c.vocab_size, d], true);
  for (let k = 0; k < c.num_nextn_predict_layers; k++) {
    const pre = mtpPrefix(c, k);
    P.add(`${pre}.enorm.weight`, [d], false);
    P.add(`${pre}.hnorm.weight`, [d], false);
    P.add(`${pre}.eh_proj.weight`, [d, 2 * d], true);
    addBlockParams(P, pre, c, c.num_hidden_layers + k);
    P.add(`${pre}.shared_head.norm.weight`, [d], false);
  }
  for (const p of P.list()) {
    if (p.shape.length === 1) p.data.fill(1);
    else for (let i = 0; i < p.data.length; i++) p.data[i] = rng.normal() * c.initializer_range;
  }
  return P;
}

export interface StepOptions {
  /** Sequence-wise balance loss weight α. */
  alpha: number;
  /** MTP loss weight λ. */
  mtpLambda: number;
  /** Run the backward pass (accumulating into the gradients). */
  backward: boolean;
}

export interface StepResult {
  /** Total objective: main + λ·mean(MTP) + balance. */
  loss: number;
  mainLoss: number;
  mtpLoss: number;
  balance: number;
  /** Routed tokens per expert for each MoE layer, by parameter prefix (main layers then MTP layers). */
  counts: Map<string, Int32Array>;
  /** Main-model logits [B·S, V] (for generation). */
  logits: Vec;
}

function embed(P: Params, rows: number[], d: number, alloc: Alloc): { y: Vec; back(dy: Vec): void } {
  const E = P.get('model.embed_tokens.weight');
  const y = alloc(rows.length * d);
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

/** tokens: B windows of W = S+1+D tokens, row-major. */
export function step(ctx: Ctx, P: Params, c: RuntimeModelConfig, tokens: Int32Array, B: number, S: number, opt: StepOptions): StepResult {
  const D = c.num_nextn_predict_layers;
  const W = S + 1 + D;
  if (tokens.length !== B * W) throw new Error(`model step: tokens has length ${tokens.length}, expected B·(S+1+D) = ${B}·${W}`);
  const d = c.hidden_size;
  const V = c.vocab_size;
  const T = B * S;
  const at = (off: number): number[] => {
    const out: number[] = [];
    for (let b = 0; b < B; b++) for (let i = 0; i < S; i++) out.push(tokens[b * W + i + off]);
    return out;
  };
  const counts = new Map<string, Int32Array>();
  let balance = 0;

  const emb = embed(P, at(0), d, ctx.alloc);
  let h = emb.y;
  const blocks: BlockFwd[] = [];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const f = block(ctx, P, `model.layers.${l}`, c, l, h, T, S, opt.alpha);
    if (f.counts) counts.set(`model.layers.${l}.mlp`, f.counts);
    balance += f.balance;
    blocks.push(f);
    h = f.y;
  }
  const hMain = h;
  const fn = P.get('model.norm.weight');
  const norm = rmsnorm(hMain, fn.data, fn.grad, T, d, c.rms_norm_eps, ctx.alloc);
  const head = linear(ctx.head, P.get('lm_head.weight'), norm.y, T, ctx.alloc);
  const main = crossEntropy(head.y, at(1), T, V, 1, ctx.alloc);

  // MTP modules, each fed by the previous depth's hidden states.
  const mtpBacks: ((dy: Vec) => Vec)[] = [];
  let mtpLoss = 0;
  let hPrev = hMain;
  for (let k = 0; k < D; k++) {
    const pre = mtpPrefix(c, k);
    const e = embed(P, at(k + 1), d, ctx.alloc);
    const en = P.get(`${pre}.enorm.weight`);
    const hn = P.get(`${pre}.hnorm.weight`);
    const ne = rmsnorm(e.y, en.data, en.grad, T, d, c.rms_norm_eps, ctx.alloc);
    const nh = rmsnorm(hPrev, hn.data, hn.grad, T, d, c.rms_norm_eps, ctx.alloc);
    const cat = ctx.alloc(T * 2 * d);
    for (let t = 0; t < T; t++) {
      cat.set(ne.y.subarray(t * d, t * d + d), t * 2 * d);
      cat.set(nh.y.subarray(t * d, t * d + d), t * 2 * d + d);
    }
    const proj = linear(ctx.head, P.get(`${pre}.eh_proj.weight`), cat, T, ctx.alloc);
    const blk = block(ctx, P, pre, c, c.num_hidden_layers + k, proj.y, T, S, opt.alpha);
    if (blk.counts) counts.set(`${pre}.mlp`, blk.counts);
    balance += blk.balance;
    const sn = P.get(`${pre}.shared_head.norm.weight`);
    const norm2 = rmsnorm(blk.y, sn.data, sn.grad, T, d, c.rms_norm_eps, ctx.alloc);
    const head2 = linear(ctx.head, P.get('lm_head.weight'), norm2.y, T, ctx.alloc);
    const ce = crossEntropy(head2.y, at(k + 2), T, V, opt.mtpLambda / D, ctx.alloc);
    mtpLoss += ce.loss / D;
    // Backward of module k: returns the gradient on its input hidden states hPrev.
    mtpBacks.push((dNext) => {
      const dBlkOut = norm2.back(head2.back(ce.dlogits));
      // dNext: gradient reaching this module's output states from the next depth's hnorm.
      if (dNext.length > 0) for (let i = 0; i < dBlkOut.length; i++) dBlkOut[i] += dNext[i];
      const dProjOut = blk.back(dBlkOut);
      const dCat = proj.back(dProjOut);
      const dne = ctx.alloc(T * d);
      const dnh = ctx.alloc(T * d);
      for (let t = 0; t < T; t++) {
        for (let j = 0; j < d; j++) {
          dne[t * d + j] = dCat[t * 2 * d + j];
          dnh[t * d + j] = dCat[t * 2 * d + d + j];
        }
      }
      e.back(ne.back(dne));
      const dh = nh.back(dnh);
      return dh;
    });
    hPrev = blk.y;
  }

  const loss = main.loss + opt.mtpLambda * mtpLoss + balance;
  if (opt.backward) {
    let dh = norm.back(head.back(main.dlogits));
    // Depth k's output feeds depth k+1's hnorm: walk the MTP chain from the deepest module back.
    let dChain: Vec | undefined;
    for (let k = D - 1; k >= 0; k--) dChain = mtpBacks[k](dChain ?? ctx.alloc(0));
    if (dChain) for (let i = 0; i < dh.length; i++) dh[i] += dChain[i];
    for (let l = c.num_hidden_layers - 1; l >= 0; l--) dh = blocks[l].back(dh);
    emb.back(dh);
  }
  return { loss, mainLoss: main.loss, mtpLoss, balance, counts, logits: head.y };
}
