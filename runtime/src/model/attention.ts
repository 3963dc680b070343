// Multi-head Latent Attention (training form, no weight absorption), causal within each sequence:
//   q   = q_b(RMSNorm(q_a(x)))                 [T, H·(dn+dr)]   (q_proj(x) when q_lora_rank = 0)
//   kva = kv_a_proj_with_mqa(x)                [T, kr+dr]       latent c_kv and the shared RoPE key k_pe
//   (these projections and the head layout: mla-projections.ts, shared with serving)
//   kv  = kv_b(RMSNorm(c_kv))                  [T, H·(dn+dv)]   per head k_nope then v
//   score(i,j,h) = (q_nope·k_nope + rope(q_pe)·rope(k_pe)) / sqrt(dn+dr); softmax over j ≤ i; o = P·v; out = o_proj(o)
import type { RuntimeModelConfig } from './config.js';
import type { Ctx } from './gemm.js';
import { linear } from './linear.js';
import { rmsnorm, type Fwd } from './norm.js';
import type { Params } from './params.js';
import { gatherHead, headBuffers, joinLatent, mlaDims, mlaFront, scatterHead } from './mla-projections.js';
import { modelRopeTable, rope, windowPositions } from './rope.js';
import { addInto, type Vec } from './tensor.js';
import { coreBackward, coreForward } from './attention-core.js';
import { enter, leave, timed } from './profile.js';
import { attnBackward, attnForward } from '../native/train-ops.js';

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

/** starts [T]: where each position's segment starts in its sequence (packed samples, token-batch.ts); absent: 0. */
export function attention(ctx: Ctx, P: Params, prefix: string, c: RuntimeModelConfig, x: Vec, T: number, S: number, starts?: Int32Array): Fwd {
  const { alloc } = ctx;
  const m = mlaDims(c);
  const { H, dn, dr, dv, kr, qk, scale } = m;
  const qCols = H * qk;
  const kvCols = H * (dn + dv);
  const eps = c.rms_norm_eps;
  const pos = windowPositions(T, S);

  // Projections (shared with serving), then kv_b on the latent: per-head keys and values (training form).
  const f = mlaFront<Fwd>(c, {
    proj: (name, v, n) => linear(ctx.linear, P.get(`${prefix}.${name}.weight`), v, n, alloc),
    norm: (name, v, n, width) => {
      const w = P.get(`${prefix}.${name}.weight`);
      return rmsnorm(v, w.data, w.grad, n, width, eps, alloc, ctx.native);
    },
    alloc,
    native: ctx.native,
  }, x, T, pos);
  const { q, kpe } = f;
  const kvb = linear(ctx.linear, P.get(`${prefix}.kv_b_proj.weight`), f.ckv, T, alloc);
  const kv = kvb.y;

  // Attention core (higher precision), per sequence and head on gathered contiguous buffers; probabilities kept.
  enter('attention');
  const B = T / S;
  // Native (fp8/bf16 on float32 tensors): the core in float32 on the addon; else float64 loops (the reference).
  const nat = ctx.native === true && q instanceof Float32Array && kv instanceof Float32Array && kpe instanceof Float32Array;
  const core = nat ? attnForward(q, kv, kpe, starts, B, S, H, dn, dr, dv, scale) : undefined;
  const probs = nat ? new Float64Array(0) : new Float64Array(B * H * S * S);
  const o = core ? core.o : alloc(T * H * dv);
  const { Q: Qh, K: Kh, V: Vh, O: Oh } = headBuffers(m, nat ? 0 : S);
  for (let b = 0; b < (nat ? 0 : B); b++) {
    for (let h = 0; h < H; h++) {
      gatherHead(m, q, kv, kpe, b * S, b * S, S, h, Qh, Kh, Vh);
      coreForward(Qh, Kh, Vh, S, qk, dv, scale, probs.subarray((b * H + h) * S * S, (b * H + h + 1) * S * S), Oh, S, starts?.subarray(b * S, b * S + S));
      scatterHead(m, Oh, o, b * S, S, h);
    }
  }
  leave();
  const out = linear(ctx.linear, P.get(`${prefix}.o_proj.weight`), o, T, alloc);

  return {
    y: out.y,
    back(dy) {
      const dO = out.back(dy);
      enter('attention');
      const g = core ? attnBackward(q as Float32Array, kv as Float32Array, kpe as Float32Array, core.probs, dO as Float32Array, starts, B, S, H, dn, dr, dv, scale) : undefined;
      const dq = g ? g.dq : alloc(T * qCols);
      const dkv = g ? g.dkv : alloc(T * kvCols);
      const dkpe = g ? g.dkpe : alloc(T * dr);
      const { Q: dQh, K: dKh, V: dVh, O: dOh } = headBuffers(m, g ? 0 : S);
      const dp = new Float64Array(S);
      for (let b = 0; b < (g ? 0 : B); b++) {
        for (let h = 0; h < H; h++) {
          gatherHead(m, q, kv, kpe, b * S, b * S, S, h, Qh, Kh, Vh);
          for (let i = 0; i < S; i++) for (let e = 0; e < dv; e++) dOh[i * dv + e] = dO[(b * S + i) * H * dv + h * dv + e];
          coreBackward(Qh, Kh, Vh, probs.subarray((b * H + h) * S * S, (b * H + h + 1) * S * S), dOh, S, qk, dv, scale, dQh, dKh, dVh, dp, starts?.subarray(b * S, b * S + S));
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
      leave();
      // Through the rotations: their transpose (the inverse rotation, times the table's factor).
      enter('ops');
      const table = modelRopeTable(c);
      rope(dq, pos, qCols, dn, H, qk, dr, table, true, ctx.native);
      rope(dkpe, pos, dr, 0, 1, dr, dr, table, true, ctx.native);
      leave();
      const dckv = f.kvn.back(kvb.back(dkv));
      const dkva = alloc(T * (kr + dr));
      timed('ops', () => joinLatent(dckv, dkpe, T, kr, dr, dkva));
      const dx = f.kva.back(dkva);
      const dxq = f.qa ? f.qa.back(f.qn!.back(f.qb.back(dq))) : f.qb.back(dq);
      timed('ops', () => addInto(dx, dxq, ctx.native));
      return dx;
    },
  };
}
