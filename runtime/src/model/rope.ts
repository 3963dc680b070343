// Rotary position embedding on adjacent pairs (x[2c], x[2c+1]) with frequency theta^(-2c/dr), as DeepSeek's
// reference inference code applies it. Rows are tokens of `rows` sequences of length S; the position is t mod S.
import type { Vec } from './tensor.js';

/** Rotates, in place, `heads` vectors of width dr starting at column `col0` of each row, stride `headStride`. */
export function rope(x: Vec, T: number, S: number, cols: number, col0: number, heads: number, headStride: number, dr: number, theta: number, inverse = false): void {
  const half = dr / 2;
  for (let t = 0; t < T; t++) {
    const pos = t % S;
    for (let c = 0; c < half; c++) {
      const ang = pos * Math.pow(theta, (-2 * c) / dr);
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
