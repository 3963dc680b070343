// The parameters one rank holds, initialised exactly as the whole model would be (model.buildParams draws every
// matrix from one seeded stream in definition order): a shape-only pass over buildParams gives the names, shapes
// and order without allocating; matrices this rank does not hold still consume their draws, so a held one gets the
// single-process values. Router biases are held with their gate.
import type { RuntimeModelConfig } from '../model/config.js';
import { buildParams } from '../model/transformer.js';
import { Params } from '../model/params.js';
import { Rng } from '../model/rng.js';
import type { Alloc } from '../model/tensor.js';

const EMPTY = new Float32Array(0);

/** Every parameter's name, shape and decay flag in definition order, and the buffer names; allocates nothing. */
export function paramSpecs(c: RuntimeModelConfig): Params {
  return buildParams(c, () => EMPTY, new Rng(0));
}

export function buildHeldParams(c: RuntimeModelConfig, alloc: Alloc, rng: Rng, holds: (name: string) => boolean): Params {
  const spec = paramSpecs(c);
  const P = new Params(alloc);
  for (const s of spec.list()) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (!holds(s.name)) {
      // Same rule as buildParams: norms are filled with 1 (no draws), matrices ~ N(0, initializer_range²).
      if (s.shape.length > 1) for (let i = 0; i < n; i++) rng.normal();
      continue;
    }
    const p = P.add(s.name, s.shape, s.decay);
    if (s.shape.length === 1) p.data.fill(1);
    else for (let i = 0; i < n; i++) p.data[i] = rng.normal() * c.initializer_range;
  }
  const suffix = '.e_score_correction_bias';
  for (const name of spec.buffers.keys()) {
    if (!name.endsWith(suffix)) throw new Error(`held parameters: buffer ${name} is not a router bias; place it`);
    if (P.map.has(`${name.slice(0, -suffix.length)}.weight`)) P.buffers.set(name, alloc(c.n_routed_experts));
  }
  return P;
}

/** Every MoE layer's count key in model order (main layers, then MTP), the same list on every rank. */
export function moeLayerKeys(c: RuntimeModelConfig): string[] {
  const suffix = '.gate.e_score_correction_bias';
  return [...paramSpecs(c).buffers.keys()].filter((k) => k.endsWith(suffix)).map((k) => k.slice(0, -suffix.length));
}

/** Bytes of parameter values, gradients and router biases a Params holds. */
export function paramBytes(P: Params): { params: number; grads: number; buffers: number; count: number } {
  let params = 0, grads = 0, buffers = 0, count = 0;
  for (const p of P.list()) {
    params += p.data.byteLength;
    grads += p.grad.byteLength;
    count += p.data.length;
  }
  for (const b of P.buffers.values()) buffers += b.byteLength;
  return { params, grads, buffers, count };
}
