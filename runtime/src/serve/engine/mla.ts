// Multi-head Latent Attention over the compressed cache, in the absorbed form DeepSeek serves with:
//   q_lat[h] = W_uk[h]ᵀ · q_nope[h]                       (kv_b's k half folded into the query, [kv_lora_rank])
//   score(j) = (q_lat[h]·c_kv[j] + q_pe[h]·k_pe[j]) / sqrt(dn+dr)        over every cached position j ≤ i
//   o[h]     = W_uv[h] · Σ_j p(j)·c_kv[j]                  (kv_b's v half applied once to the attended latent)
// which equals the training form (k_nope = W_uk·c_kv, v = W_uv·c_kv per head) up to rounding. A segment of n new
// tokens at positions [L, L+n) appends its c_kv/k_pe to the sequence's cache and attends over [0, L+n). A fresh prompt
// (L = 0, n > 1) runs the training form instead — per-head keys and values through kv_b in the engine's precision, as
// step() does; cheaper for long prompts (dn+dr per score instead of kv_lora_rank+dr) and step()'s exact arithmetic —
// and still caches only c_kv and k_pe. Decode steps use the absorbed form. The cores run in float64.
import type { RuntimeModelConfig } from '../../model/config.js';
import { fromBf16, toBf16 } from '../../model/fp8.js';
import { rmsnorm } from '../../model/norm.js';
import { alloc32 } from '../../model/tensor.js';
import { dequantizeWeights, quantizeWeights } from '../../native/index.js';
import type { SequenceCache } from './kv-cache.js';
import { Linear, type GemmPrecision } from './linear.js';
import { coreForward } from '../../model/attention-core.js';
import { attendAbsorbed } from './mla-core.js';
import { ropeAt } from './rope.js';
import { need, type ModelWeights } from './weights.js';

/** n new tokens of one sequence at rows [row0, row0+n) of the batch; positions continue from cache.length. */
export interface Segment {
  cache: SequenceCache;
  row0: number;
  n: number;
}

export class Mla {
  private readonly qa?: Linear;
  private readonly qaNorm?: Float32Array;
  private readonly qb: Linear;
  private readonly kva: Linear;
  private readonly kvNorm: Float32Array;
  /** kv_b [H·(dn+dv), kr] in the values the GEMM path would see (dequantised FP8 / rounded BF16). */
  private readonly kvb: Float64Array;
  /** kv_b as a projection, for the training form of a prompt. */
  private readonly kvbLinear: Linear;
  private readonly o: Linear;
  private readonly scratch = new Float32Array(1);

  constructor(private readonly c: RuntimeModelConfig, w: ModelWeights, prefix: string, precision: GemmPrecision, source: string) {
    const d = c.hidden_size;
    const H = c.num_attention_heads;
    const qk = c.qk_nope_head_dim + c.qk_rope_head_dim;
    const lin = (name: string, rows: number, cols: number): Linear => new Linear(`${prefix}.${name}`, rows, cols, need(w, `${prefix}.${name}.weight`, rows * cols, source), precision, w.fp8.get(`${prefix}.${name}.weight`));
    if (c.q_lora_rank > 0) {
      this.qa = lin('q_a_proj', c.q_lora_rank, d);
      this.qaNorm = need(w, `${prefix}.q_a_layernorm.weight`, c.q_lora_rank, source);
      this.qb = lin('q_b_proj', H * qk, c.q_lora_rank);
    } else this.qb = lin('q_proj', H * qk, d);
    this.kva = lin('kv_a_proj_with_mqa', c.kv_lora_rank + c.qk_rope_head_dim, d);
    this.kvNorm = need(w, `${prefix}.kv_a_layernorm.weight`, c.kv_lora_rank, source);
    const kvbRows = H * (c.qk_nope_head_dim + c.v_head_dim);
    const kvbName = `${prefix}.kv_b_proj.weight`;
    const kvb32 = need(w, kvbName, kvbRows * c.kv_lora_rank, source);
    let seen: Float32Array = kvb32;
    if (precision === 'fp8') seen = dequantizeWeights(w.fp8.get(kvbName) ?? quantizeWeights(kvb32, kvbRows, c.kv_lora_rank));
    else if (precision === 'bf16') seen = Float32Array.from(kvb32, (v) => fromBf16(toBf16(v)));
    this.kvb = Float64Array.from(seen);
    this.kvbLinear = lin('kv_b_proj', kvbRows, c.kv_lora_rank);
    this.o = lin('o_proj', d, H * c.v_head_dim);
  }

  /** x [T, d] (already normalised) → attention output [T, d]; writes the segments' tokens into their caches (layer `layer`). */
  forward(x: Float32Array, T: number, segs: Segment[], layer: number): Float32Array {
    const c = this.c;
    const H = c.num_attention_heads;
    const dn = c.qk_nope_head_dim;
    const dr = c.qk_rope_head_dim;
    const dv = c.v_head_dim;
    const kr = c.kv_lora_rank;
    const qk = dn + dr;
    const eps = c.rms_norm_eps;
    const pos = new Int32Array(T);
    for (const s of segs) for (let i = 0; i < s.n; i++) pos[s.row0 + i] = s.cache.length + i;

    let q: Float32Array;
    if (this.qa) {
      const qa = this.qa.forward(x, T);
      q = this.qb.forward(rmsnorm(qa, this.qaNorm!, this.scratch, T, c.q_lora_rank, eps, alloc32).y as Float32Array, T);
    } else q = this.qb.forward(x, T);
    ropeAt(q, pos, H * qk, dn, H, qk, dr, c.rope_theta);

    const kva = this.kva.forward(x, T);
    const kvaCols = kr + dr;
    const ckvRaw = new Float32Array(T * kr);
    const kpe = new Float32Array(T * dr);
    for (let t = 0; t < T; t++) {
      ckvRaw.set(kva.subarray(t * kvaCols, t * kvaCols + kr), t * kr);
      kpe.set(kva.subarray(t * kvaCols + kr, (t + 1) * kvaCols), t * dr);
    }
    ropeAt(kpe, pos, dr, 0, 1, dr, dr, c.rope_theta);
    const ckv = rmsnorm(ckvRaw, this.kvNorm, this.scratch, T, kr, eps, alloc32).y as Float32Array;

    // Append to the caches (the caller reserved room and advances cache.length after the last layer).
    for (const s of segs) {
      const L = s.cache.length;
      const lc = s.cache.layers[layer];
      lc.ckv.set(ckv.subarray(s.row0 * kr, (s.row0 + s.n) * kr), L * kr);
      lc.kpe.set(kpe.subarray(s.row0 * dr, (s.row0 + s.n) * dr), L * dr);
    }

    const o = new Float32Array(T * H * dv);
    const scale = 1 / Math.sqrt(qk);
    const kvb = this.kvb;
    const qlat = new Float64Array(kr);
    const olat = new Float64Array(kr);
    const qpe = new Float64Array(dr);
    for (const s of segs) {
      const L = s.cache.length;
      if (L === 0 && s.n > 1) {
        this.prompt(q, ckv, kpe, s, o);
        continue;
      }
      const { ckv: C, kpe: K } = s.cache.layers[layer];
      const p = new Float64Array(L + s.n);
      for (let i = 0; i < s.n; i++) {
        const t = s.row0 + i;
        for (let h = 0; h < H; h++) {
          attendAbsorbed(q, t * H * qk + h * qk, kvb, h * (dn + dv) * kr, C, K, L + i, kr, dn, dr, dv, scale, qlat, olat, qpe, p, o, t * H * dv + h * dv);
        }
      }
    }
    return this.o.forward(o, T);
  }

  /** The training form over a fresh prompt's rows: writes o for rows [row0, row0+n). */
  private prompt(q: Float32Array, ckv: Float32Array, kpe: Float32Array, s: Segment, o: Float32Array): void {
    const c = this.c;
    const H = c.num_attention_heads;
    const dn = c.qk_nope_head_dim;
    const dr = c.qk_rope_head_dim;
    const dv = c.v_head_dim;
    const kr = c.kv_lora_rank;
    const qk = dn + dr;
    const n = s.n;
    const kv = this.kvbLinear.forward(ckv.subarray(s.row0 * kr, (s.row0 + n) * kr), n);
    const kvCols = H * (dn + dv);
    const Qh = new Float64Array(n * qk);
    const Kh = new Float64Array(n * qk);
    const Vh = new Float64Array(n * dv);
    const Oh = new Float64Array(n * dv);
    const p = new Float64Array(n);
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < n; i++) {
        const t = s.row0 + i;
        const qo = t * H * qk + h * qk;
        const ko = i * kvCols + h * (dn + dv);
        for (let e = 0; e < qk; e++) Qh[i * qk + e] = q[qo + e];
        for (let e = 0; e < dn; e++) Kh[i * qk + e] = kv[ko + e];
        for (let e = 0; e < dr; e++) Kh[i * qk + dn + e] = kpe[t * dr + e];
        for (let e = 0; e < dv; e++) Vh[i * dv + e] = kv[ko + dn + e];
      }
      // The training core with one reused probability row: the same operations as step(), so the same logits.
      coreForward(Qh, Kh, Vh, n, qk, dv, 1 / Math.sqrt(qk), p, Oh, 0);
      for (let i = 0; i < n; i++) for (let e = 0; e < dv; e++) o[(s.row0 + i) * H * dv + h * dv + e] = Oh[i * dv + e];
    }
  }
}
