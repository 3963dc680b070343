// RoPE at absolute positions (the training rope() takes position = row mod S; a cached sequence continues from the
// cache length instead). Same pair layout and the same float64 arithmetic as runtime/src/model/rope.ts.
export function ropeAt(x: Float32Array, pos: ArrayLike<number>, cols: number, col0: number, heads: number, headStride: number, dr: number, theta: number): void {
  const half = dr / 2;
  for (let t = 0; t < pos.length; t++) {
    const p = pos[t];
    for (let c = 0; c < half; c++) {
      const ang = p * Math.pow(theta, (-2 * c) / dr);
      const cos = Math.cos(ang);
      const sin = Math.sin(ang);
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
