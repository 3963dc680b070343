// The weights the inference model is built from: float32 values by checkpoint name, plus, for tensors that arrived
// as FP8 (a DeepSeek-layout export), their E4M3 codes and 128×128 block scales so the FP8 path multiplies the very
// codes that were shipped instead of re-quantising a dequantised copy.
import type { Fp8Weights } from '../../native/quant.js';
import type { Params } from '../../model/params.js';

export interface ModelWeights {
  /** name → float32 values (FP8/BF16 tensors dequantised). */
  f32: Map<string, Float32Array>;
  /** name → the shipped FP8 codes and scales (export only). */
  fp8: Map<string, Fp8Weights>;
}

/** The trainer's parameters and router biases as inference weights (shares the arrays; no copy). */
export function weightsFromParams(P: Params): ModelWeights {
  const f32 = new Map<string, Float32Array>();
  for (const p of P.list()) f32.set(p.name, p.data instanceof Float32Array ? p.data : Float32Array.from(p.data));
  for (const [name, b] of P.buffers) f32.set(name, b instanceof Float32Array ? b : Float32Array.from(b));
  return { f32, fp8: new Map() };
}

export function need(w: ModelWeights, name: string, size: number, source: string): Float32Array {
  const v = w.f32.get(name);
  if (!v) throw new Error(`${source}: weight ${name} is missing`);
  if (v.length !== size) throw new Error(`${source}: weight ${name} has ${v.length} values, the config needs ${size}`);
  return v;
}
