// Rotary position embedding on adjacent pairs (x[2c], x[2c+1]) with frequency theta^(-2c/dr), as DeepSeek's
// reference inference code applies it (pure). Row t sits at position pos[t]: training windows restart at 0 every S
// rows (windowPositions); a cached sequence in serving continues from its cache length (serve/engine/mla.ts).
import type { Vec } from './tensor.js';

/** Positions of T rows that are sequences of length S: t mod S. */
export function windowPositions(T: number, S: number): Int32Array {
  const pos = new Int32Array(T);
  for (let t = 0; t < T; t++) pos[t] = t % S;
  return pos;
}

/**
 * Rotates, in place, `heads` vectors of width dr starting at column `col0` of each of the pos.length rows, stride
 * `headStride`; `inverse` rotates back (the transpose of a rotation is its inverse: the backward pass).
 */
export function rope(x: Vec, pos: ArrayLike<number>, cols: number, col0: number, heads: number, headStride: number, dr: number, theta: number, inverse = false): void {
  const half = dr / 2;
  for (let t = 0; t < pos.length; t++) {
    const p = pos[t];
    for (let c = 0; c < half; c++) {
      const ang = p * Math.pow(theta, (-2 * c) / dr);
      const cos = Math.cos(ang);
      const sin = inverse ? -Math.sin(ang) : Math.sin(ang);
      for (let h = 0; h < heads; h++) {
        const k = t * cols + col0 + h * headStride + 2 * c;
        const a = x[k];
        const b = x[k + 1];
        x[k] = a * cos - b * sin;
        x[k + 1] = a * sin + b * cos;
      }
    }
  }
}
