// Finite-difference checker for the float64 reference path: central differences on a scalar objective compared with
// the analytic gradients of the parameters and of the input.
import assert from 'node:assert/strict';
import { refGemm, type Ctx } from '../../../runtime/src/model/gemm.js';
import type { Params } from '../../../runtime/src/model/params.js';
import { modelConfig, type RuntimeModelConfig } from '../../../runtime/src/model/config.js';
import { Rng } from '../../../runtime/src/model/rng.js';
import { alloc64, type Vec } from '../../../runtime/src/model/tensor.js';

export const ctx64: Ctx = { alloc: alloc64, linear: refGemm, head: refGemm };

/** A model small enough for finite differences that still has every feature (q LoRA, groups, shared expert, MTP). */
export function microConfig(over: Partial<RuntimeModelConfig> = {}): RuntimeModelConfig {
  return modelConfig('deepseek-v3-tiny', {
    vocab_size: 11,
    hidden_size: 8,
    intermediate_size: 12,
    moe_intermediate_size: 6,
    num_hidden_layers: 2,
    first_k_dense_replace: 1,
    num_attention_heads: 2,
    q_lora_rank: 6,
    kv_lora_rank: 4,
    qk_nope_head_dim: 4,
    qk_rope_head_dim: 2,
    v_head_dim: 4,
    n_routed_experts: 4,
    n_shared_experts: 1,
    num_experts_per_tok: 2,
    n_group: 2,
    topk_group: 1,
    num_nextn_predict_layers: 1,
    initializer_range: 0.5,
    ...over,
  });
}

export function randomVec(n: number, rng: Rng, scale = 1): Float64Array {
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal() * scale;
  return v;
}

export interface Checked {
  /** Largest relative error seen, and where. */
  worst: number;
  where: string;
  count: number;
}

/**
 * objective(backward) returns the scalar and, when backward, has accumulated parameter gradients and returns dx.
 * Every parameter gets `perParam` elements checked (chosen by the rng); the input `x` gets `perInput` elements.
 */
export function gradCheck(P: Params, x: Vec | undefined, objective: (backward: boolean) => { value: number; dx?: Vec }, rng: Rng, opts: { perParam?: number; perInput?: number; eps?: number; tol?: number } = {}): Checked {
  const eps = opts.eps ?? 1e-6;
  const tol = opts.tol ?? 1e-5;
  P.zeroGrad();
  const base = objective(true);
  let worst = 0;
  let where = '';
  let count = 0;
  const check = (label: string, arr: Vec, i: number, analytic: number): void => {
    const old = arr[i];
    arr[i] = old + eps;
    const up = objective(false).value;
    arr[i] = old - eps;
    const down = objective(false).value;
    arr[i] = old;
    const numeric = (up - down) / (2 * eps);
    const err = Math.abs(numeric - analytic) / Math.max(1e-4, Math.abs(numeric) + Math.abs(analytic));
    count++;
    if (err > worst) {
      worst = err;
      where = `${label}[${i}] analytic ${analytic} numeric ${numeric}`;
    }
  };
  for (const p of P.list()) {
    const n = Math.min(p.data.length, opts.perParam ?? 3);
    for (let j = 0; j < n; j++) {
      const i = rng.int(p.data.length);
      check(p.name, p.data, i, p.grad[i]);
    }
  }
  if (x && base.dx) {
    const n = Math.min(x.length, opts.perInput ?? 8);
    for (let j = 0; j < n; j++) {
      const i = rng.int(x.length);
      check('input', x, i, base.dx[i]);
    }
  }
  assert.ok(count > 0, 'gradCheck checked nothing');
  assert.ok(worst < tol, `gradient mismatch: worst relative error ${worst.toExponential(2)} at ${where}`);
  return { worst, where, count };
}

/** Σ y·R for a fixed random R: a scalar whose gradient on y is R. */
export function dotObjective(y: Vec, R: Float64Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i] * R[i];
  return s;
}
