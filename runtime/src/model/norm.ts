// RMSNorm: y = x / sqrt(mean(x²) + eps) · w, per row.
import type { Alloc, Vec } from './tensor.js';
import { enter, leave } from './profile.js';
import { rmsnormBackward, rmsnormForward } from '../native/train-ops.js';

export interface Fwd {
  y: Vec;
  back(dy: Vec): Vec;
}

/** native: on the addon (float32 tensors; the training path in fp8/bf16), the same arithmetic in float32. */
export function rmsnorm(x: Vec, w: Vec, dw: Vec, T: number, d: number, eps: number, alloc: Alloc, native = false): Fwd {
  if (native && x instanceof Float32Array && w instanceof Float32Array && dw instanceof Float32Array) return rmsnormNative(x, w, dw, T, d, eps);
  enter('ops');
  const y = alloc(T * d);
  const r = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    let ss = 0;
    for (let i = 0; i < d; i++) ss += x[t * d + i] * x[t * d + i];
    r[t] = 1 / Math.sqrt(ss / d + eps);
    for (let i = 0; i < d; i++) y[t * d + i] = x[t * d + i] * r[t] * w[i];
  }
  leave();
  return {
    y,
    back(dy) {
      enter('ops');
      const dx = alloc(T * d);
      for (let t = 0; t < T; t++) {
        const rt = r[t];
        let gx = 0;
        for (let i = 0; i < d; i++) {
          const k = t * d + i;
          dw[i] += dy[k] * x[k] * rt;
          gx += dy[k] * w[i] * x[k];
        }
        const c = (rt * rt * gx) / d;
        for (let i = 0; i < d; i++) {
          const k = t * d + i;
          dx[k] = rt * (dy[k] * w[i] - x[k] * c);
        }
      }
      leave();
      return dx;
    },
  };
}

function rmsnormNative(x: Float32Array, w: Float32Array, dw: Float32Array, T: number, d: number, eps: number): Fwd {
  enter('ops');
  const { y, r } = rmsnormForward(x, w, T, d, eps);
  leave();
  return {
    y,
    back(dy) {
      enter('ops');
      const dx = rmsnormBackward(x, w, r, dy as Float32Array, T, d, dw);
      leave();
      return dx;
    },
  };
}
