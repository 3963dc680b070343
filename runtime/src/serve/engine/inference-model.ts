// The inference model: embedding → decoder layers (MLA over the compressed cache, dense FFN or MoE) → final norm →
// head, over a batch of sequences at once: every sequence contributes n new tokens (a prompt or one decode token),
// the token-wise layers (norms, projections, experts) run on all rows together and attention runs per sequence over
// its own cache. The MTP modules are training-only here: their weights may be present and are not loaded.
import { isMoeLayer, type RuntimeModelConfig } from '../../model/config.js';
import { rmsnorm } from '../../model/norm.js';
import { alloc32 } from '../../model/tensor.js';
import { Ffn } from './ffn.js';
import { SequenceCache, type KvCacheType } from './kv-cache.js';
import { Linear, type GemmPrecision } from './linear.js';
import { Mla, type Segment } from './mla.js';
import { Moe, type Dispatch, type MoePlan } from './moe.js';
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

  private kvType?: KvCacheType;
  /** How new caches store tokens: f32 in the fp32 engine (exact), else bf16; fp8 is the opt-in quarter-size cache. */
  get kvCache(): KvCacheType {
    return this.kvType ?? (this.precision === 'fp32' ? 'f32' : 'bf16');
  }
  set kvCache(t: KvCacheType) {
    if (t !== 'f32' && t !== 'bf16' && t !== 'fp8') throw new Error(`kvCache must be f32, bf16 or fp8, got ${String(t)}`);
    this.kvType = t;
  }

  newCache(initial = 16, type: KvCacheType = this.kvCache): SequenceCache {
    return new SequenceCache(this.config.num_hidden_layers, this.config.kv_lora_rank, this.config.qk_rope_head_dim, initial, type);
  }

  /**
   * Appends every item's tokens to its cache and returns logits: of each item's last token ([items, V]), or with
   * `all` of every token ([Σn, V], items in order). Routed experts run here; `dispatch` picks the replicas
   * (default: slot = expert).
   */
  forward(items: BatchItem[], dispatch: (moeLayer: number) => Dispatch = identityDispatch, all = false): Float32Array {
    const g = this.steps(items, dispatch, all);
    let r = g.next();
    while (!r.done) r = g.next(r.value.moe.runLocal(r.value.plan));
    return r.value;
  }

  /** forward() with the routed experts of each MoE layer computed by `run` (expert parallelism across ranks). */
  async forwardWith(items: BatchItem[], dispatch: (moeLayer: number) => Dispatch, run: (call: MoeCall) => Promise<Float32Array>, all = false): Promise<Float32Array> {
    const g = this.steps(items, dispatch, all);
    let r = g.next();
    while (!r.done) r = g.next(await run(r.value));
    return r.value;
  }

  /** The forward as a generator that stops at each MoE layer for its routed experts' outputs. */
  private *steps(items: BatchItem[], dispatch: (moeLayer: number) => Dispatch, all: boolean): Generator<MoeCall, Float32Array, Float32Array> {
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
      let f: Float32Array;
      if (L.moe) {
        const plan = L.moe.plan(a2, T, dispatch(m));
        const ys = yield { layer: m++, moe: L.moe, plan };
        f = L.moe.finish(plan, ys, a2);
      } else f = L.dense!.forward(a2, T);
      const y = new Float32Array(T * d);
      for (let i = 0; i < y.length; i++) y[i] = h1[i] + f[i];
      h = y;
    }
    for (const it of items) it.cache.length += it.tokens.length;
    // Only the rows whose logits are wanted go through the final norm and the head.
    const rows = all ? Array.from({ length: T }, (_, i) => i) : segs.map((s) => s.row0 + s.n - 1);
    const sel = new Float32Array(rows.length * d);
    rows.forEach((r, i) => sel.set(h.subarray(r * d, r * d + d), i * d));
    const normed = rmsnorm(sel, this.norm, this.scratch, rows.length, d, c.rms_norm_eps, alloc32).y as Float32Array;
    return this.head.forward(normed, rows.length);
  }
}

/** One MoE layer's routed work, handed out by the forward generator. */
export interface MoeCall {
  layer: number;
  moe: Moe;
  plan: MoePlan;
}

const identityDispatch = (): Dispatch => (idx) => idx;
