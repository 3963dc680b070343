// The inference model: embedding → decoder layers (MLA over the compressed cache, dense FFN or MoE) → final norm →
// head, over a batch of sequences at once: every sequence contributes n new tokens (a prompt or one decode token),
// the token-wise layers (norms, projections, experts) run on all rows together and attention runs per sequence over
// its own cache. The MTP modules are training-only here: their weights may be present and are not loaded.
import { isMoeLayer, type RuntimeModelConfig } from '../../model/config.js';
import { rmsnorm } from '../../model/norm.js';
import { alloc32 } from '../../model/tensor.js';
import { Ffn } from './ffn.js';
import { SequenceCache } from './kv-cache.js';
import { Linear, type GemmPrecision } from './linear.js';
import { Mla, type Segment } from './mla.js';
import { Moe, type Dispatch } from './moe.js';
import { need, type ModelWeights } from './weights.js';

export type Precision = 'fp8' | 'bf16' | 'fp32';

interface Layer {
  inNorm: Float32Array;
  attn: Mla;
  postNorm: Float32Array;
  dense?: Ffn;
  moe?: Moe;
}

/** One sequence's part of a forward: its cache and the new tokens to append. */
export interface BatchItem {
  cache: SequenceCache;
  tokens: Int32Array;
}

export class InferenceModel {
  private readonly embed: Float32Array;
  private readonly layers: Layer[];
  private readonly norm: Float32Array;
  private readonly head: Linear;
  /** Number of MoE layers (the placement's layer axis). */
  readonly moeLayers: number;
  private readonly scratch = new Float32Array(1);

  constructor(readonly config: RuntimeModelConfig, w: ModelWeights, readonly precision: Precision, source = 'model') {
    const c = config;
    const d = c.hidden_size;
    this.embed = need(w, 'model.embed_tokens.weight', c.vocab_size * d, source);
    this.layers = [];
    for (let l = 0; l < c.num_hidden_layers; l++) {
      const pre = `model.layers.${l}`;
      const moe = isMoeLayer(c, l);
      this.layers.push({
        inNorm: need(w, `${pre}.input_layernorm.weight`, d, source),
        attn: new Mla(c, w, `${pre}.self_attn`, precision, source),
        postNorm: need(w, `${pre}.post_attention_layernorm.weight`, d, source),
        ...(moe ? { moe: new Moe(c, w, `${pre}.mlp`, precision, source) } : { dense: new Ffn(w, `${pre}.mlp`, d, c.intermediate_size, precision, source) }),
      });
    }
    this.moeLayers = this.layers.filter((l) => l.moe).length;
    this.norm = need(w, 'model.norm.weight', d, source);
    // The recipe keeps the output head out of FP8.
    const headPrecision: GemmPrecision = precision === 'fp32' ? 'fp32' : 'bf16';
    this.head = new Linear('lm_head', c.vocab_size, d, need(w, 'lm_head.weight', c.vocab_size * d, source), headPrecision);
  }

  newCache(initial = 16): SequenceCache {
    return new SequenceCache(this.config.num_hidden_layers, this.config.kv_lora_rank, this.config.qk_rope_head_dim, initial);
  }

  /**
   * Appends every item's tokens to its cache and returns logits: of each item's last token ([items, V]), or with
   * `all` of every token ([Σn, V], items in order).
   */
  forward(items: BatchItem[], dispatch: (moeLayer: number) => Dispatch, all = false): Float32Array {
    const c = this.config;
    const d = c.hidden_size;
    const V = c.vocab_size;
    const segs: Segment[] = [];
    let T = 0;
    for (const it of items) {
      if (it.tokens.length === 0) throw new Error('inference forward: an item has no tokens');
      it.cache.reserve(it.cache.length + it.tokens.length);
      segs.push({ cache: it.cache, row0: T, n: it.tokens.length });
      T += it.tokens.length;
    }
    let h = new Float32Array(T * d);
    for (const [i, it] of items.entries()) {
      for (let k = 0; k < it.tokens.length; k++) {
        const tok = it.tokens[k];
        if (!(tok >= 0 && tok < V)) throw new Error(`inference forward: token id ${tok} is outside the vocabulary [0, ${V})`);
        h.set(this.embed.subarray(tok * d, tok * d + d), (segs[i].row0 + k) * d);
      }
    }
    let m = 0;
    for (const [l, L] of this.layers.entries()) {
      const a1 = rmsnorm(h, L.inNorm, this.scratch, T, d, c.rms_norm_eps, alloc32).y as Float32Array;
      const at = L.attn.forward(a1, T, segs, l);
      const h1 = new Float32Array(T * d);
      for (let i = 0; i < h1.length; i++) h1[i] = h[i] + at[i];
      const a2 = rmsnorm(h1, L.postNorm, this.scratch, T, d, c.rms_norm_eps, alloc32).y as Float32Array;
      const f = L.moe ? L.moe.forward(a2, T, dispatch(m++)) : L.dense!.forward(a2, T);
      const y = new Float32Array(T * d);
      for (let i = 0; i < y.length; i++) y[i] = h1[i] + f[i];
      h = y;
    }
    for (const it of items) it.cache.length += it.tokens.length;
    // Only the rows whose logits are wanted go through the final norm and the head.
    let rows: number[];
    if (all) rows = Array.from({ length: T }, (_, i) => i);
    else rows = segs.map((s) => s.row0 + s.n - 1);
    const sel = new Float32Array(rows.length * d);
    rows.forEach((r, i) => sel.set(h.subarray(r * d, r * d + d), i * d));
    const normed = rmsnorm(sel, this.norm, this.scratch, rows.length, d, c.rms_norm_eps, alloc32).y as Float32Array;
    const logits = this.head.forward(normed, rows.length);
    if (logits.length !== rows.length * V) throw new Error('inference forward: head produced the wrong size');
    return logits;
  }
}
