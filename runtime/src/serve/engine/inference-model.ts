// The inference model: embedding → decoder layers (MLA over the compressed cache, dense FFN or MoE) → final norm →
// head, over a batch of sequences at once: every sequence contributes n new tokens (a prompt or one decode token),
// the token-wise layers (norms, projections, experts) run on all rows together and attention runs per sequence over
// its own cache. The first MTP module, when the weights carry it, is built as the drafter of speculative decoding
// (mtp.ts) over the same layer code, embedding and head.
import { isMoeLayer, type RuntimeModelConfig } from '../../model/config.js';
import { Ffn } from './ffn.js';
import { SequenceCache, type KvCacheType } from './kv-cache.js';
import { Linear, type GemmPrecision } from './linear.js';
import { Mla, type Segment } from './mla.js';
import { Moe, type Dispatch, type MoePlan } from './moe.js';
import { MtpModule } from './mtp.js';
import { add, addNorm, norm } from './rows.js';
import { Arena, inArena } from './scratch.js';
import { need, type ModelWeights } from './weights.js';

export type Precision = 'fp8' | 'bf16' | 'fp32';

/** One decoder layer (a main layer, or an MTP module's block). */
export interface Layer {
  inNorm: Float32Array;
  attn: Mla;
  postNorm: Float32Array;
  dense?: Ffn;
  moe?: Moe;
}

/** The layer `index` (MoE or dense by the config, as training decides) with weights under `pre`. */
export function buildLayer(c: RuntimeModelConfig, w: ModelWeights, pre: string, index: number, precision: Precision, source: string): Layer {
  const d = c.hidden_size;
  return {
    inNorm: need(w, `${pre}.input_layernorm.weight`, d, source),
    attn: new Mla(c, w, `${pre}.self_attn`, precision, source),
    postNorm: need(w, `${pre}.post_attention_layernorm.weight`, d, source),
    ...(isMoeLayer(c, index) ? { moe: new Moe(c, w, `${pre}.mlp`, precision, source) } : { dense: new Ffn(w, `${pre}.mlp`, d, c.intermediate_size, precision, source) }),
  };
}

/**
 * One decoder layer over h [T, d]: h + Attn(RMSNorm(h)) over the segments' caches (their layer `cacheLayer`), then
 * + MLP(RMSNorm(·)); a MoE layer stops for its routed experts' outputs (moeLayer: its index on the placement's axis).
 */
export function* layerSteps(c: RuntimeModelConfig, L: Layer, h: Float32Array, T: number, segs: Segment[], cacheLayer: number,
  dispatch: (moeLayer: number) => Dispatch, moeLayer: number, arena?: Arena): Generator<MoeCall, Float32Array, Float32Array> {
  const d = c.hidden_size;
  // The layer's temporaries (and its output) come from `arena`, entered only around synchronous code (scratch.ts).
  arena?.reset();
  const { h1, a2, plan } = inArena(arena, () => {
    const a1 = norm(h, L.inNorm, T, d, c.rms_norm_eps);
    const at = L.attn.forward(a1, T, segs, cacheLayer);
    const { sum, y } = addNorm(h, at, L.postNorm, T, d, c.rms_norm_eps);
    return { h1: sum, a2: y, plan: L.moe?.plan(y, T, dispatch(moeLayer)) };
  });
  let f: Float32Array;
  if (L.moe) {
    const ys = yield { layer: moeLayer, moe: L.moe, plan: plan!, arena };
    f = inArena(arena, () => L.moe!.finish(plan!, ys, a2));
  } else f = inArena(arena, () => L.dense!.forward(a2, T));
  return inArena(arena, () => add(h1, f));
}

/** A forward's results: logits of the rows asked for, and with `hidden` every new token's last hidden state. */
export interface ForwardOut {
  /** [rows, V]: each item's last token, or every token with `all`. */
  logits: Float32Array;
  /** [Σn, d]: the hidden state after the last layer, before the final norm (what the MTP module reads). */
  hidden?: Float32Array;
}

export interface ForwardOptions {
  all?: boolean;
  hidden?: boolean;
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
  /** Scratch memory of the layers' temporaries: layer l takes arena l % 2 (scratch.ts). */
  private readonly arenas = [new Arena(), new Arena()];
  /** Number of MoE layers (the placement's layer axis). */
  readonly moeLayers: number;

  constructor(readonly config: RuntimeModelConfig, w: ModelWeights, readonly precision: Precision, source = 'model') {
    const c = config;
    const d = c.hidden_size;
    this.embed = need(w, 'model.embed_tokens.weight', c.vocab_size * d, source);
    this.layers = [];
    for (let l = 0; l < c.num_hidden_layers; l++) this.layers.push(buildLayer(c, w, `model.layers.${l}`, l, precision, source));
    this.moeLayers = this.layers.filter((l) => l.moe).length;
    this.norm = need(w, 'model.norm.weight', d, source);
    // The recipe keeps the output head out of FP8.
    const headPrecision: GemmPrecision = precision === 'fp32' ? 'fp32' : 'bf16';
    this.head = new Linear('lm_head', c.vocab_size, d, need(w, 'lm_head.weight', c.vocab_size * d, source), headPrecision);
    if (MtpModule.present(c, w)) this.mtp = new MtpModule(this, w, precision, source);
  }

  /** The drafter for speculative decoding: the first MTP module, when the weights carry one. */
  readonly mtp?: MtpModule;

  /** The MoE block of MoE layer m (the placement's layer axis). */
  moeAt(m: number): Moe {
    const L = this.layers.filter((l) => l.moe)[m];
    if (!L) throw new Error(`inference model: no MoE layer ${m} (the model has ${this.moeLayers})`);
    return L.moe!;
  }

  /** Embedding rows of the tokens: [n, d]. */
  embedRows(tokens: Int32Array): Float32Array {
    const d = this.config.hidden_size;
    const V = this.config.vocab_size;
    const out = new Float32Array(tokens.length * d);
    for (let k = 0; k < tokens.length; k++) {
      const tok = tokens[k];
      if (!(tok >= 0 && tok < V)) throw new Error(`inference forward: token id ${tok} is outside the vocabulary [0, ${V})`);
      out.set(this.embed.subarray(tok * d, tok * d + d), k * d);
    }
    return out;
  }

  /** The output head (shared by the MTP module) on normalised rows: [rows, V]. */
  headLogits(normed: Float32Array, rows: number): Float32Array {
    return this.head.forward(normed, rows);
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
    return this.run(items, dispatch, { all }).logits;
  }

  /** forward() with the routed experts of each MoE layer computed by `run` (expert parallelism across ranks). */
  async forwardWith(items: BatchItem[], dispatch: (moeLayer: number) => Dispatch, run: (call: MoeCall) => Promise<Float32Array>, all = false): Promise<Float32Array> {
    return (await this.runWith(items, dispatch, run, { all })).logits;
  }

  /** forward() that can also return the hidden states (speculative decoding: verify rows and the drafter's input). */
  run(items: BatchItem[], dispatch: (moeLayer: number) => Dispatch = identityDispatch, o: ForwardOptions = {}): ForwardOut {
    const g = this.steps(items, dispatch, o);
    let r = g.next();
    while (!r.done) {
      const call = r.value;
      r = g.next(inArena(call.arena, () => call.moe.runLocal(call.plan)));
    }
    return r.value;
  }

  async runWith(items: BatchItem[], dispatch: (moeLayer: number) => Dispatch, run: (call: MoeCall) => Promise<Float32Array>, o: ForwardOptions = {}): Promise<ForwardOut> {
    const g = this.steps(items, dispatch, o);
    let r = g.next();
    while (!r.done) r = g.next(await run(r.value));
    return r.value;
  }

  /** The forward as a generator that stops at each MoE layer for its routed experts' outputs. */
  private *steps(items: BatchItem[], dispatch: (moeLayer: number) => Dispatch, o: ForwardOptions): Generator<MoeCall, ForwardOut, Float32Array> {
    const c = this.config;
    const d = c.hidden_size;
    const segs: Segment[] = [];
    let T = 0;
    for (const it of items) {
      if (it.tokens.length === 0) throw new Error('inference forward: an item has no tokens');
      it.cache.reserve(it.cache.length + it.tokens.length);
      segs.push({ cache: it.cache, row0: T, n: it.tokens.length });
      T += it.tokens.length;
    }
    let h: Float32Array = new Float32Array(T * d);
    for (const [i, it] of items.entries()) h.set(this.embedRows(it.tokens), segs[i].row0 * d);
    let m = 0;
    for (const [l, L] of this.layers.entries()) {
      h = yield* layerSteps(c, L, h, T, segs, l, dispatch, m, this.arenas[l % 2]);
      if (L.moe) m++;
    }
    for (const it of items) it.cache.length += it.tokens.length;
    // Only the rows whose logits are wanted go through the final norm and the head.
    const rows = o.all ? Array.from({ length: T }, (_, i) => i) : segs.map((s) => s.row0 + s.n - 1);
    const sel = new Float32Array(rows.length * d);
    rows.forEach((r, i) => sel.set(h.subarray(r * d, r * d + d), i * d));
    const normed = norm(sel, this.norm, rows.length, d, c.rms_norm_eps);
    // h is arena memory (the last layer's): the hidden states handed out are a copy.
    return { logits: this.head.forward(normed, rows.length), ...(o.hidden ? { hidden: h.slice() } : {}) };
  }
}

/** One MoE layer's routed work, handed out by the forward generator. */
export interface MoeCall {
  layer: number;
  moe: Moe;
  plan: MoePlan;
  /** The layer's scratch arena, for routed experts run here in the same process (InferenceModel.run). */
  arena?: Arena;
}

const identityDispatch = (): Dispatch => (idx) => idx;
