// Multi-head Latent Attention over the compressed cache, in the absorbed form DeepSeek serves with:
//   q_lat[h] = W_uk[h]ᵀ · q_nope[h]                       (kv_b's k half folded into the query, [kv_lora_rank])
//   score(j) = (q_lat[h]·c_kv[j] + q_pe[h]·k_pe[j]) / sqrt(dn+dr)        over every cached position j ≤ i
//   o[h]     = W_uv[h] · Σ_j p(j)·c_kv[j]                  (kv_b's v half applied once to the attended latent)
// which equals the training form (k_nope = W_uk·c_kv, v = W_uv·c_kv per head) up to rounding. A segment of n new
// tokens at positions [L, L+n) appends its c_kv/k_pe to the sequence's cache and attends causally over [0, L+n) as
// the cache holds them (bf16/fp8 rounded in such a cache, as DeepSeek's absorbed kernels read them). All segments of a
// batch — decode tokens and whole prompts alike — go to the native kernel in one call (runtime/native/kernels/mla.h,
// fp32 accumulation). Two exceptions keep the fp32 engine exact and addon-free: its fresh prompts (L = 0, n > 1) run
// the training form — per-head keys and values through kv_b, the float64 training core, so step()'s exact logits — and
// without the addon its decode runs the float64 TypeScript core (mla-core.ts). The projections up to the core, RoPE at
// the cached positions and the per-head layout are the training layer's (model/mla-projections.ts).
import type { RuntimeModelConfig } from '../../model/config.js';
import { fromBf16, toBf16 } from '../../model/fp8.js';
import { gatherHead, headBuffers, mlaDims, mlaFront, scatterHead, type MlaDims, type MlaNormName, type MlaOps, type MlaProjName } from '../../model/mla-projections.js';
import { alloc32, type Vec } from '../../model/tensor.js';
import { dequantizeWeights, mlaAttention, mlaWuvT, quantizeWeights, type MlaSegment } from '../../native/index.js';
import { nativeAvailable } from '../../model/precision.js';
import type { SequenceCache } from './kv-cache.js';
import { FusedFp8Linear, Linear, type GemmPrecision } from './linear.js';
import { coreForward } from '../../model/attention-core.js';
import { attendAbsorbed } from './mla-core.js';
import { norm } from './rows.js';
import { need, type ModelWeights } from './weights.js';

/** n new tokens of one sequence at rows [row0, row0+n) of the batch; positions continue from cache.length. */
export interface Segment {
  cache: SequenceCache;
  row0: number;
  n: number;
}

export class Mla {
  private readonly m: MlaDims;
  /** The shared projections (q_a/q_b or q_proj, kv_a) and norms, in the engine's precision. */
  private readonly ops: MlaOps<{ y: Vec }>;
  /** kv_b [H·(dn+dv), kr] in the values the GEMM path would see (dequantised FP8 / rounded BF16). */
  private readonly kvb: Float64Array;
  /** The same in float32 for the native kernel (absent without the addon: the TypeScript core runs). */
  private readonly kvb32?: Float32Array;
  /** Its v rows transposed per head for the kernel's W_uv step (mlaWuvT). */
  private readonly wuvT?: Float32Array;
  /** kv_b as a projection, for the training form of a prompt. */
  private readonly kvbLinear: Linear;
  private readonly o: Linear;

  constructor(private readonly c: RuntimeModelConfig, w: ModelWeights, prefix: string, private readonly precision: GemmPrecision, source: string) {
    const d = c.hidden_size;
    this.m = mlaDims(c);
    const { H, qk, kr, dr, dn, dv } = this.m;
    const lin = (name: string, rows: number, cols: number): Linear => new Linear(`${prefix}.${name}`, rows, cols, need(w, `${prefix}.${name}.weight`, rows * cols, source), precision, w.fp8.get(`${prefix}.${name}.weight`));
    const proj: Partial<Record<MlaProjName, Linear>> = {};
    const norms: Partial<Record<MlaNormName, Float32Array>> = {};
    if (c.q_lora_rank > 0) {
      proj.q_a_proj = lin('q_a_proj', c.q_lora_rank, d);
      norms.q_a_layernorm = need(w, `${prefix}.q_a_layernorm.weight`, c.q_lora_rank, source);
      proj.q_b_proj = lin('q_b_proj', H * qk, c.q_lora_rank);
    } else proj.q_proj = lin('q_proj', H * qk, d);
    proj.kv_a_proj_with_mqa = lin('kv_a_proj_with_mqa', kr + dr, d);
    norms.kv_a_layernorm = need(w, `${prefix}.kv_a_layernorm.weight`, kr, source);
    // fp8: the input's two projections (q_a or q_proj, and kv_a) as one GEMM over their stacked weights (stackFp8:
    // each output exactly its own GEMM's); mlaFront asks for the query's first, and kv_a's comes from the same call.
    const first: MlaProjName = c.q_lora_rank > 0 ? 'q_a_proj' : 'q_proj';
    const firstRows = c.q_lora_rank > 0 ? c.q_lora_rank : H * qk;
    const wq = (name: string, rows: number) => FusedFp8Linear.weights(need(w, `${prefix}.${name}.weight`, rows * d, source), rows, d, w.fp8.get(`${prefix}.${name}.weight`));
    const fused = precision === 'fp8' ? new FusedFp8Linear([wq(first, firstRows), wq('kv_a_proj_with_mqa', kr + dr)]) : undefined;
    let pending: { x: unknown; y: Float32Array } | undefined;
    const cols = (y: Float32Array, T: number, c0: number, n: number): Float32Array => {
      const out = new Float32Array(T * n);
      for (let t = 0; t < T; t++) out.set(y.subarray(t * fused!.rows + c0, t * fused!.rows + c0 + n), t * n);
      return out;
    };
    this.ops = {
      proj: (name, x, T) => {
        if (fused && name === first) {
          const y = fused.forward(x as Float32Array, T);
          pending = { x, y };
          return { y: cols(y, T, 0, firstRows) };
        }
        if (fused && name === 'kv_a_proj_with_mqa' && pending?.x === x) {
          const y = pending.y;
          pending = undefined;
          return { y: cols(y, T, fused.offsets[1], kr + dr) };
        }
        return { y: proj[name]!.forward(x as Float32Array, T) };
      },
      norm: (name, x, T, width) => ({ y: norm(x as Float32Array, norms[name]!, T, width, c.rms_norm_eps) }),
      alloc: alloc32,
    };
    const kvbRows = H * (dn + dv);
    const kvbName = `${prefix}.kv_b_proj.weight`;
    const kvb32 = need(w, kvbName, kvbRows * kr, source);
    let seen: Float32Array = kvb32;
    if (precision === 'fp8') seen = dequantizeWeights(w.fp8.get(kvbName) ?? quantizeWeights(kvb32, kvbRows, kr));
    else if (precision === 'bf16') seen = Float32Array.from(kvb32, (v) => fromBf16(toBf16(v)));
    this.kvb = Float64Array.from(seen);
    if (nativeAvailable()) {
      this.kvb32 = seen === kvb32 ? Float32Array.from(kvb32) : seen;
      this.wuvT = mlaWuvT(this.m, this.kvb32);
    }
    this.kvbLinear = lin('kv_b_proj', kvbRows, kr);
    this.o = lin('o_proj', d, H * dv);
  }

  /** x [T, d] (already normalised) → attention output [T, d]; writes the segments' tokens into their caches (layer `layer`). */
  forward(x: Float32Array, T: number, segs: Segment[], layer: number): Float32Array {
    const { H, dn, dr, dv, kr, qk, scale } = this.m;
    const pos = new Int32Array(T);
    for (const s of segs) for (let i = 0; i < s.n; i++) pos[s.row0 + i] = s.cache.length + i;
    const f = mlaFront(this.c, this.ops, x, T, pos);
    const q = f.q as Float32Array, ckv = f.ckv as Float32Array, kpe = f.kpe as Float32Array;

    // The fp32 engine's fresh prompts run the training form (step()'s exact arithmetic); every other segment appends
    // to its cache and attends over it in the native kernel (the caller reserved room and advances cache.length
    // after the last layer), or in the TypeScript core when the addon is not built.
    const exact = (s: Segment): boolean => this.precision === 'fp32' && s.cache.length === 0 && s.n > 1;
    const native: MlaSegment[] = [];
    if (this.kvb32) {
      for (const s of segs) if (!exact(s)) native.push({ cache: s.cache.layers[layer].rows, type: s.cache.type, L: s.cache.length, n: s.n, row0: s.row0 });
    }
    const o = native.length > 0 ? mlaAttention(this.m, q, ckv, kpe, this.kvb32!, native, T, this.wuvT) : new Float32Array(T * H * dv);
    const kvb = this.kvb;
    const qlat = new Float64Array(kr);
    const olat = new Float64Array(kr);
    const qpe = new Float64Array(dr);
    const w = kr + dr;
    for (const s of segs) {
      if (this.kvb32 && !exact(s)) continue;
      const L = s.cache.length;
      s.cache.write(layer, L, s.n, ckv.subarray(s.row0 * kr, (s.row0 + s.n) * kr), kpe.subarray(s.row0 * dr, (s.row0 + s.n) * dr));
      if (exact(s)) {
        this.prompt(q, ckv, kpe, s, o);
        continue;
      }
      const C = s.cache.f32(layer);
      const p = new Float64Array(L + s.n);
      for (let i = 0; i < s.n; i++) {
        const t = s.row0 + i;
        for (let h = 0; h < H; h++) {
          attendAbsorbed(q, t * H * qk + h * qk, kvb, h * (dn + dv) * kr, C, C, L + i, kr, dn, dr, dv, scale, qlat, olat, qpe, p, o, t * H * dv + h * dv, w, w, kr);
        }
      }
    }
    return this.o.forward(o, T);
  }

  /** The training form over a fresh prompt's rows: writes o for rows [row0, row0+n). */
  private prompt(q: Float32Array, ckv: Float32Array, kpe: Float32Array, s: Segment, o: Float32Array): void {
    const m = this.m;
    const { H, dv, kr, qk, scale } = m;
    const n = s.n;
    const kv = this.kvbLinear.forward(ckv.subarray(s.row0 * kr, (s.row0 + n) * kr), n);
    const { Q: Qh, K: Kh, V: Vh, O: Oh } = headBuffers(m, n);
    const p = new Float64Array(n);
    for (let h = 0; h < H; h++) {
      gatherHead(m, q, kv, kpe, s.row0, 0, n, h, Qh, Kh, Vh);
      // The training core with one reused probability row: the same operations as step(), so the same logits.
      coreForward(Qh, Kh, Vh, n, qk, dv, scale, p, Oh, 0);
      scatterHead(m, Oh, o, s.row0, n, h);
    }
  }
}
