// Multi-head Latent Attention (training form, no weight absorption), causal within each sequence:
//   q   = q_b(RMSNorm(q_a(x)))                 [T, H·(dn+dr)]   (q_proj(x) when q_lora_rank = 0)
//   kva = kv_a_proj_with_mqa(x)                [T, kr+dr]       latent c_kv and the shared RoPE key k_pe
//   kv  = kv_b(RMSNorm(c_kv))                  [T, H·(dn+dv)]   per head k_nope then v
//   score(i,j,h) = (q_nope·k_nope + rope(q_pe)·rope(k_pe)) / sqrt(dn+dr); softmax over j ≤ i; o = P·v; out = o_proj(o)
import type { RuntimeModelConfig } from './config.js';
import type { Ctx } from './gemm.js';
import { linear } from './linear.js';
import { rmsnorm, type Fwd } from './norm.js';
import type { Params } from './params.js';
import { rope } from './rope.js';
import type { Vec } from './tensor.js';
import { coreBackward, coreForward } from './attention-core.js';

export function addAttentionParams(P: Params, prefix: string, c: RuntimeModelConfig): void {
  const d = c.hidden_size;
  const H = c.num_attention_heads;
  const qk = c.qk_nope_head_dim + c.qk_rope_head_dim;
  if (c.q_lora_rank > 0) {
    P.add(`${prefix}.q_a_proj.weight`, [c.q_lora_rank, d], true);
    P.add(`${prefix}.q_a_layernorm.weight`, [c.q_lora_rank], false);
    P.add(`${prefix}.q_b_proj.weight`, [H * qk, c.q_lora_rank], true);
  } else {
    P.add(`${prefix}.q_proj.weight`, [H * qk, d], true);
  }
  P.add(`${prefix}.kv_a_proj_with_mqa.weight`, [c.kv_lora_rank + c.qk_rope_head_dim, d], true);
  P.add(`${prefix}.kv_a_layernorm.weight`, [c.kv_lora_rank], false);
  P.add(`${prefix}.kv_b_proj.weight`, [H * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank], true);
  P.add(`${prefix}.o_proj.weight`, [d, H * c.v_head_dim], true);
}

export function attention(ctx: Ctx, P: Params, prefix: string, c: RuntimeModelConfig, x: Vec, T: number, S: number): Fwd {
  const { alloc } = ctx;
  const H = c.num_attention_heads;
  const dn = c.qk_nope_head_dim;
  const dr = c.qk_rope_head_dim;
  const dv = c.v_head_dim;
  const kr = c.kv_lora_rank;
  const qk = dn + dr;
  const qCols = H * qk;
  const kvCols = H * (dn + dv);
  const scale = 1 / Math.sqrt(qk);
  const eps = c.rms_norm_eps;

  // Query path.
  let qBack: (dq: Vec) => Vec;
  let q: Vec;
  if (c.q_lora_rank > 0) {
    const qa = linear(ctx.linear, P.get(`${prefix}.q_a_proj.weight`), x, T, alloc);
    const nw = P.get(`${prefix}.q_a_layernorm.weight`);
    const qn = rmsnorm(qa.y, nw.data, nw.grad, T, c.q_lora_rank, eps, alloc);
    const qb = linear(ctx.linear, P.get(`${prefix}.q_b_proj.weight`), qn.y, T, alloc);
    q = qb.y;
    qBack = (dq) => qa.back(qn.back(qb.back(dq)));
  } else {
    const qp = linear(ctx.linear, P.get(`${prefix}.q_proj.weight`), x, T, alloc);
    q = qp.y;
    qBack = (dq) => qp.back(dq);
  }
  rope(q, T, S, qCols, dn, H, qk, dr, c.rope_theta);

  // Key/value path: latent + shared RoPE key.
  const kva = linear(ctx.linear, P.get(`${prefix}.kv_a_proj_with_mqa.weight`), x, T, alloc);
  const kvaCols = kr + dr;
  const ckv = alloc(T * kr);
  const kpe = alloc(T * dr);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < kr; i++) ckv[t * kr + i] = kva.y[t * kvaCols + i];
    for (let i = 0; i < dr; i++) kpe[t * dr + i] = kva.y[t * kvaCols + kr + i];
  }
  rope(kpe, T, S, dr, 0, 1, dr, dr, c.rope_theta);
  const kvw = P.get(`${prefix}.kv_a_layernorm.weight`);
  const kvn = rmsnorm(ckv, kvw.data, kvw.grad, T, kr, eps, alloc);
  const kvb = linear(ctx.linear, P.get(`${prefix}.kv_b_proj.weight`), kvn.y, T, alloc);
  const kv = kvb.y;

  // Attention core (higher precision), per sequence and head on gathered contiguous buffers; probabilities kept.
  const B = T / S;
  const probs = new Float64Array(B * H * S * S);
  const o = alloc(T * H * dv);
  const Qh = new Float64Array(S * qk);
  const Kh = new Float64Array(S * qk);
  const Vh = new Float64Array(S * dv);
  const Oh = new Float64Array(S * dv);
  const gather = (b: number, h: number): void => {
    for (let i = 0; i < S; i++) {
      const t = b * S + i;
      const qo = t * qCols + h * qk;
      const ko = t * kvCols + h * (dn + dv);
      for (let e = 0; e < qk; e++) Qh[i * qk + e] = q[qo + e];
      for (let e = 0; e < dn; e++) Kh[i * qk + e] = kv[ko + e];
      for (let e = 0; e < dr; e++) Kh[i * qk + dn + e] = kpe[t * dr + e];
      for (let e = 0; e < dv; e++) Vh[i * dv + e] = kv[ko + dn + e];
    }
  };
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      gather(b, h);
      coreForward(Qh, Kh, Vh, S, qk, dv, scale, probs.subarray((b * H + h) * S * S, (b * H + h + 1) * S * S), Oh);
      for (let i = 0; i < S; i++) for (let e = 0; e < dv; e++) o[(b * S + i) * H * dv + h * dv + e] = Oh[i * dv + e];
    }
  }
  const out = linear(ctx.linear, P.get(`${prefix}.o_proj.weight`), o, T, alloc);

  return {
    y: out.y,
    back(dy) {
      const dO = out.back(dy);
      const dq = alloc(T * qCols);
      const dkv = alloc(T * kvCols);
      const dkpe = alloc(T * dr);
      const dOh = new Float64Array(S * dv);
      const dQh = new Float64Array(S * qk);
      const dKh = new Float64Array(S * qk);
      const dVh = new Float64Array(S * dv);
      const dp = new Float64Array(S);
      for (let b = 0; b < B; b++) {
        for (let h = 0; h < H; h++) {
          gather(b, h);
          for (let i = 0; i < S; i++) for (let e = 0; e < dv; e++) dOh[i * dv + e] = dO[(b * S + i) * H * dv + h * dv + e];
          coreBackward(Qh, Kh, Vh, probs.subarray((b * H + h) * S * S, (b * H + h + 1) * S * S), dOh, S, qk, dv, scale, dQh, dKh, dVh, dp);
          for (let i = 0; i < S; i++) {
            const t = b * S + i;
            const qo = t * qCols + h * qk;
            const ko = t * kvCols + h * (dn + dv);
            for (let e = 0; e < qk; e++) dq[qo + e] += dQh[i * qk + e];
            for (let e = 0; e < dn; e++) dkv[ko + e] += dKh[i * qk + e];
            for (let e = 0; e < dr; e++) dkpe[t * dr + e] += dKh[i * qk + dn + e];
            for (let e = 0; e < dv; e++) dkv[ko + dn + e] += dVh[i * dv + e];
          }
        }
      }
      // Undo the rotations (the transpose of a rotation is the inverse rotation).
      rope(dq, T, S, qCols, dn, H, qk, dr, c.rope_theta, true);
      rope(dkpe, T, S, dr, 0, 1, dr, dr, c.rope_theta, true);
      const dckv = kvn.back(kvb.back(dkv));
      const dkva = alloc(T * kvaCols);
      for (let t = 0; t < T; t++) {
        for (let i = 0; i < kr; i++) dkva[t * kvaCols + i] = dckv[t * kr + i];
        for (let i = 0; i < dr; i++) dkva[t * kvaCols + kr + i] = dkpe[t * dr + i];
      }
      const dx = kva.back(dkva);
      const dxq = qBack(dq);
      for (let i = 0; i < dx.length; i++) dx[i] += dxq[i];
      return dx;
    },
  };
}
