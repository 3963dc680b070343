// The first MTP module as the drafter of speculative decoding (DeepSeek-V3 report §2.2 and §5.4.3). Entry i of its
// sequence reads the main model's last hidden state h_i and the embedding of the token after it, t_{i+1}, runs one
// decoder block over the module's own compressed KV cache (RoPE position i) and predicts t_{i+2} with the shared
// head. The arithmetic is training's (model/layer-range.ts: enorm, hnorm, mtpConcat, eh_proj, the block of layer
// num_hidden_layers, shared_head.norm, lm_head); the block is the serving layer code (inference-model.ts), so decode
// steps run it in the absorbed form over the cache like any main layer. Drafting k > 1 tokens feeds the module its
// own output as the next hidden state (as vLLM and SGLang reuse DeepSeek's single module); those entries are
// speculative and the engine truncates the cache back to the entries built from verified main-model states.
import type { RuntimeModelConfig } from '../../model/config.js';
import { mtpPrefix } from '../../model/layer-range.js';
import { mtpConcat } from '../../model/mtp-input.js';
import { alloc32 } from '../../model/tensor.js';
import { SequenceCache } from './kv-cache.js';
import { norm } from './rows.js';
import { Arena, inArena } from './scratch.js';
import { Linear } from './linear.js';
import type { Segment } from './mla.js';
import type { Dispatch } from './moe.js';
import { buildLayer, layerSteps, type InferenceModel, type Layer, type Precision } from './inference-model.js';
import { need, type ModelWeights } from './weights.js';

/** One sequence's new MTP entries: n hidden states h_i [n, d] and the tokens t_{i+1} [n] that follow them. */
export interface MtpItem {
  cache: SequenceCache;
  hidden: Float32Array;
  tokens: Int32Array;
}

export interface MtpOut {
  /** [items, V]: the prediction of each item's last entry. */
  logits: Float32Array;
  /** [items, d]: the block output of each item's last entry (the next draft's hidden state). */
  out: Float32Array;
}

const identity = (): Dispatch => (idx) => idx;

export class MtpModule {
  private readonly enorm: Float32Array;
  private readonly hnorm: Float32Array;
  private readonly ehProj: Linear;
  private readonly layer: Layer;
  private readonly headNorm: Float32Array;
  private readonly arena = new Arena();

  /** Whether the weights hold MTP module 0 (an export or checkpoint of a model trained with MTP). */
  static present(c: RuntimeModelConfig, w: ModelWeights): boolean {
    return c.num_nextn_predict_layers > 0 && w.f32.has(`${mtpPrefix(c, 0)}.eh_proj.weight`);
  }

  constructor(private readonly model: InferenceModel, w: ModelWeights, precision: Precision, source: string) {
    const c = model.config;
    const d = c.hidden_size;
    const pre = mtpPrefix(c, 0);
    this.enorm = need(w, `${pre}.enorm.weight`, d, source);
    this.hnorm = need(w, `${pre}.hnorm.weight`, d, source);
    // Training runs eh_proj in BF16 (the recipe's head precision); the drafter runs it in the engine's precision: its
    // rounding can change only which tokens are drafted, never what is emitted, and the FP8 GEMM on packed weights
    // is several times faster than the BF16 one for a decode step's few rows.
    this.ehProj = new Linear(`${pre}.eh_proj`, d, 2 * d, need(w, `${pre}.eh_proj.weight`, 2 * d * d, source), precision, w.fp8.get(`${pre}.eh_proj.weight`));
    this.layer = buildLayer(c, w, pre, c.num_hidden_layers, precision, source);
    this.headNorm = need(w, `${pre}.shared_head.norm.weight`, d, source);
  }

  newCache(initial = 16): SequenceCache {
    // Stored like the main model's caches (the engine's cache type).
    return new SequenceCache(1, this.model.config.kv_lora_rank, this.model.config.qk_rope_head_dim, initial, this.model.kvCache);
  }

  /** Appends every item's entries to its cache (positions from cache.length) and predicts from each item's last one. */
  forward(items: MtpItem[]): MtpOut {
    const c = this.model.config;
    const d = c.hidden_size;
    const segs: Segment[] = [];
    let T = 0;
    for (const it of items) {
      const n = it.tokens.length;
      if (n === 0) throw new Error('MTP forward: an item has no entries');
      if (it.hidden.length !== n * d) throw new Error(`MTP forward: ${n} tokens need ${n * d} hidden values, got ${it.hidden.length}`);
      it.cache.reserve(it.cache.length + n);
      segs.push({ cache: it.cache, row0: T, n });
      T += n;
    }
    const emb = new Float32Array(T * d);
    const hid = new Float32Array(T * d);
    items.forEach((it, i) => {
      emb.set(this.model.embedRows(it.tokens), segs[i].row0 * d);
      hid.set(it.hidden, segs[i].row0 * d);
    });
    const ne = norm(emb, this.enorm, T, d, c.rms_norm_eps);
    const nh = norm(hid, this.hnorm, T, d, c.rms_norm_eps);
    const x = this.ehProj.forward(mtpConcat(ne, nh, T, d, alloc32) as Float32Array, T);
    // The module's MoE runs here with every expert (it is not on the operator's placement axis).
    // The block's temporaries in the module's own scratch arena (scratch.ts); its output is copied out below.
    const g = layerSteps(c, this.layer, x, T, segs, 0, identity, -1, this.arena);
    let r = g.next();
    while (!r.done) {
      const call = r.value;
      r = g.next(inArena(this.arena, () => call.moe.runLocal(call.plan)));
    }
    const y = r.value;
    for (const it of items) it.cache.length += it.tokens.length;
    const out = new Float32Array(items.length * d);
    segs.forEach((s, i) => out.set(y.subarray((s.row0 + s.n - 1) * d, (s.row0 + s.n) * d), i * d));
    const normed = norm(out, this.headNorm, items.length, d, c.rms_norm_eps);
    return { logits: this.model.headLogits(normed, items.length), out };
  }
}
