// MLA's projections up to the attention core and its per-head row layout (pure), shared by the training layer
// (attention.ts) and the serving layer over the compressed cache (serve/engine/mla.ts). Each side brings its own
// projection and norm (training: GEMM with backward over Params; serving: prepared weights in the engine's precision)
// and its own positions; the wiring and the arithmetic around them are this one:
//   q   = q_b(RMSNorm(q_a(x)))  (q_proj(x) when q_lora_rank = 0), rope on each head's last dr columns
//   kva = kv_a_proj_with_mqa(x) = [c_kv | k_pe], rope on k_pe, c_kv normalised by kv_a_layernorm
import type { RuntimeModelConfig } from './config.js';
import { modelRopeTable, rope, yarnSoftmaxFactor } from './rope.js';
import type { Alloc, Vec } from './tensor.js';

export interface MlaDims {
  H: number;
  dn: number;
  dr: number;
  dv: number;
  /** kv_lora_rank: width of the latent c_kv. */
  kr: number;
  /** dn + dr: query/key width per head. */
  qk: number;
  /** 1 / sqrt(qk), times YaRN's softmax factor when the config scales RoPE. */
  scale: number;
}

export function mlaDims(c: RuntimeModelConfig): MlaDims {
  const dn = c.qk_nope_head_dim, dr = c.qk_rope_head_dim;
  return { H: c.num_attention_heads, dn, dr, dv: c.v_head_dim, kr: c.kv_lora_rank, qk: dn + dr, scale: yarnSoftmaxFactor(c) / Math.sqrt(dn + dr) };
}

export type MlaProjName = 'q_a_proj' | 'q_b_proj' | 'q_proj' | 'kv_a_proj_with_mqa';
export type MlaNormName = 'q_a_layernorm' | 'kv_a_layernorm';

/** One side's projection y = x·Wᵀ and RMSNorm of a named weight; F carries whatever that side keeps (its backward). */
export interface MlaOps<F extends { y: Vec }> {
  proj(name: MlaProjName, x: Vec, T: number): F;
  norm(name: MlaNormName, x: Vec, T: number, width: number): F;
  alloc: Alloc;
  /** RoPE on the addon (float32 rows, Int32Array positions; rope.ts). */
  native?: boolean;
}

export interface MlaFront<F> {
  /** [T, H·qk] rotated queries: per head q_nope then q_pe. */
  q: Vec;
  /** [T, kr] normalised latent. */
  ckv: Vec;
  /** [T, dr] rotated shared key. */
  kpe: Vec;
  /** The steps, for a backward: q_a and its norm (q_lora_rank > 0), the query projection, kv_a, the latent's norm. */
  qa?: F;
  qn?: F;
  qb: F;
  kva: F;
  kvn: F;
}

/** Rows x [T, d] at positions pos → queries, latent and rotated key. */
export function mlaFront<F extends { y: Vec }>(c: RuntimeModelConfig, ops: MlaOps<F>, x: Vec, T: number, pos: ArrayLike<number>): MlaFront<F> {
  const { H, dn, dr, kr, qk } = mlaDims(c);
  let qa: F | undefined, qn: F | undefined, qb: F;
  if (c.q_lora_rank > 0) {
    qa = ops.proj('q_a_proj', x, T);
    qn = ops.norm('q_a_layernorm', qa.y, T, c.q_lora_rank);
    qb = ops.proj('q_b_proj', qn.y, T);
  } else qb = ops.proj('q_proj', x, T);
  const q = qb.y;
  const table = modelRopeTable(c);
  rope(q, pos, H * qk, dn, H, qk, dr, table, false, ops.native);

  const kva = ops.proj('kv_a_proj_with_mqa', x, T);
  const ckvRaw = ops.alloc(T * kr);
  const kpe = ops.alloc(T * dr);
  splitLatent(kva.y, T, kr, dr, ckvRaw, kpe);
  rope(kpe, pos, dr, 0, 1, dr, dr, table, false, ops.native);
  const kvn = ops.norm('kv_a_layernorm', ckvRaw, T, kr);
  return { q, ckv: kvn.y, kpe, qa, qn, qb, kva, kvn };
}

/** kva [T, kr+dr] → c_kv [T, kr] and k_pe [T, dr]. */
export function splitLatent(kva: Vec, T: number, kr: number, dr: number, ckv: Vec, kpe: Vec): void {
  const cols = kr + dr;
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < kr; i++) ckv[t * kr + i] = kva[t * cols + i];
    for (let i = 0; i < dr; i++) kpe[t * dr + i] = kva[t * cols + kr + i];
  }
}

/** The inverse of splitLatent (the backward's gradient on kva). */
export function joinLatent(ckv: Vec, kpe: Vec, T: number, kr: number, dr: number, kva: Vec): void {
  const cols = kr + dr;
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < kr; i++) kva[t * cols + i] = ckv[t * kr + i];
    for (let i = 0; i < dr; i++) kva[t * cols + kr + i] = kpe[t * dr + i];
  }
}

/** Contiguous float64 buffers of one head over n rows for the attention core: Q, K [n, qk], V, O [n, dv]. */
export function headBuffers(m: MlaDims, n: number): { Q: Float64Array; K: Float64Array; V: Float64Array; O: Float64Array } {
  return { Q: new Float64Array(n * m.qk), K: new Float64Array(n * m.qk), V: new Float64Array(n * m.dv), O: new Float64Array(n * m.dv) };
}

/**
 * Head h of n rows into contiguous float64 buffers for the attention core (training form): Q [n, qk] from q rows
 * [row0, row0+n); K [n, qk] = k_nope | k_pe and V [n, dv] from kv rows [kvRow0, kvRow0+n) (kv_b's output, per head
 * k_nope then v) and k_pe rows [row0, row0+n).
 */
export function gatherHead(m: MlaDims, q: Vec, kv: Vec, kpe: Vec, row0: number, kvRow0: number, n: number, h: number,
  Qh: Float64Array, Kh: Float64Array, Vh: Float64Array): void {
  const { H, dn, dr, dv, qk } = m;
  const kvCols = H * (dn + dv);
  for (let i = 0; i < n; i++) {
    const t = row0 + i;
    const qo = t * H * qk + h * qk;
    const ko = (kvRow0 + i) * kvCols + h * (dn + dv);
    for (let e = 0; e < qk; e++) Qh[i * qk + e] = q[qo + e];
    for (let e = 0; e < dn; e++) Kh[i * qk + e] = kv[ko + e];
    for (let e = 0; e < dr; e++) Kh[i * qk + dn + e] = kpe[t * dr + e];
    for (let e = 0; e < dv; e++) Vh[i * dv + e] = kv[ko + dn + e];
  }
}

/** Oh [n, dv] into head h's columns of o [.., H·dv] at rows [row0, row0+n). */
export function scatterHead(m: MlaDims, Oh: Float64Array, o: Vec, row0: number, n: number, h: number): void {
  const { H, dv } = m;
  for (let i = 0; i < n; i++) for (let e = 0; e < dv; e++) o[(row0 + i) * H * dv + h * dv + e] = Oh[i * dv + e];
}
