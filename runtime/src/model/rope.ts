// Rotary position embedding on adjacent pairs (x[2c], x[2c+1]) with frequency theta^(-2c/dr), as DeepSeek's
// reference inference code applies it (pure). Row t sits at position pos[t]: training windows restart at 0 every S
// rows (windowPositions); a cached sequence in serving continues from its cache length (serve/engine/mla.ts).
// With YaRN (config rope_scaling, REFERENCE.md §8) the frequencies are blended between interpolated (÷ factor) and
// kept, over a ramp between the correction dimensions of beta_fast and beta_slow rotations in the original context, as
// DeepSeek's precompute_freqs_cis computes them; HuggingFace's attention factor scales the rotated values (1 when
// mscale = mscale_all_dim, as released), and the softmax scale gets mscale_all_dim's factor squared (yarnSoftmaxFactor).
// As in transformers, YaRN applies whenever the config has it; DeepSeek's own model.py applies it only when its
// max_seq_len exceeds the original context (for the 671B release: the same function at every position).
import type { RuntimeModelConfig, YarnScaling } from './config.js';
import type { Vec } from './tensor.js';
import { enter, leave } from './profile.js';
import { ropeNative } from '../native/train-ops.js';

/** Per-pair inverse frequencies and the factor on rotated values. */
export interface RopeTable {
  inv: Float64Array;
  amp: number;
}

/** YaRN's magnitude correction 0.1·m·ln(factor) + 1 (1 when the factor does not stretch). */
export function yarnMscale(factor: number, m: number): number {
  return factor <= 1 ? 1 : 0.1 * m * Math.log(factor) + 1;
}

/** The multiplier YaRN puts on the softmax scale 1/sqrt(qk): mscale_all_dim's correction, squared. */
export function yarnSoftmaxFactor(c: RuntimeModelConfig): number {
  const y = c.rope_scaling;
  return y && y.mscale_all_dim ? yarnMscale(y.factor, y.mscale_all_dim) ** 2 : 1;
}

/** The dimension (pair index scale: out of dr) at which `rotations` full turns fit in the original context. */
function correctionDim(rotations: number, dr: number, theta: number, original: number): number {
  return (dr * Math.log(original / (rotations * 2 * Math.PI))) / (2 * Math.log(theta));
}

export function ropeTable(dr: number, theta: number, yarn?: YarnScaling): RopeTable {
  const half = dr / 2;
  const inv = new Float64Array(half);
  for (let c = 0; c < half; c++) inv[c] = Math.pow(theta, (-2 * c) / dr);
  if (!yarn) return { inv, amp: 1 };
  let low = correctionDim(yarn.beta_fast, dr, theta, yarn.original_max_position_embeddings);
  let high = correctionDim(yarn.beta_slow, dr, theta, yarn.original_max_position_embeddings);
  if (yarn.truncate) {
    low = Math.floor(low);
    high = Math.ceil(high);
  }
  low = Math.max(low, 0);
  high = Math.min(high, dr - 1);
  if (low === high) high += 0.001;
  for (let c = 0; c < half; c++) {
    const ramp = Math.min(1, Math.max(0, (c - low) / (high - low)));
    inv[c] = (inv[c] / yarn.factor) * ramp + inv[c] * (1 - ramp);
  }
  // HuggingFace's attention_factor: given, or mscale's correction over mscale_all_dim's when both are set, else the
  // plain correction of the factor.
  const amp = yarn.attention_factor ?? (yarn.mscale && yarn.mscale_all_dim ? yarnMscale(yarn.factor, yarn.mscale) / yarnMscale(yarn.factor, yarn.mscale_all_dim) : yarnMscale(yarn.factor, 1));
  return { inv, amp };
}

/** The table of a model's decoupled RoPE dims. */
export const modelRopeTable = (c: RuntimeModelConfig): RopeTable => ropeTable(c.qk_rope_head_dim, c.rope_theta, c.rope_scaling);

/** Positions of T rows that are sequences of length S: t mod S. */
export function windowPositions(T: number, S: number): Int32Array {
  const pos = new Int32Array(T);
  for (let t = 0; t < T; t++) pos[t] = t % S;
  return pos;
}

/**
 * Rotates, in place, `heads` vectors of width dr starting at column `col0` of each of the pos.length rows, stride
 * `headStride`, and scales them by the table's factor; `inverse` applies the transpose (the backward pass: the
 * inverse rotation, the same factor). native: on the addon (float32 rows, Int32Array positions), the same float64
 * arithmetic.
 */
export function rope(x: Vec, pos: ArrayLike<number>, cols: number, col0: number, heads: number, headStride: number, dr: number, table: RopeTable, inverse = false, native = false): void {
  const half = dr / 2;
  const { inv, amp } = table;
  enter('ops');
  if (native && x instanceof Float32Array && pos instanceof Int32Array) {
    ropeNative(x, pos, cols, col0, heads, headStride, dr, inv, amp, inverse);
    return leave();
  }
  for (let t = 0; t < pos.length; t++) {
    const p = pos[t];
    for (let c = 0; c < half; c++) {
      const ang = p * inv[c];
      const cos = amp * Math.cos(ang);
      const sin = amp * (inverse ? -Math.sin(ang) : Math.sin(ang));
      for (let h = 0; h < heads; h++) {
        const k = t * cols + col0 + h * headStride + 2 * c;
        const a = x[k];
        const b = x[k + 1];
        x[k] = a * cos - b * sin;
        x[k + 1] = a * sin + b * cos;
      }
    }
  }
  leave();
}
