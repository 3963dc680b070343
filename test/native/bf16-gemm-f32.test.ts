// bf16GemmF32 (float32 operands rounded to bfloat16 while packed, read transposed where asked) against bf16Gemm on
// converted and transposed copies, bit for bit on every path; its accumulating form against the sum.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bf16Gemm, bf16GemmF32, f32ToBf16 } from '../../runtime/src/native/index.js';
import { firstBitMismatch, randn, rng } from './util.js';
import { availablePaths, withPath } from './paths.js';

const transpose = (a: Float32Array, rows: number, cols: number): Float32Array => {
  const out = new Float32Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j]!;
  return out;
};

describe('BF16 GEMM on float32 operands', () => {
  for (const path of availablePaths()) {
    it(`equals bf16Gemm on the converted (and transposed) copies, bit for bit (${path})`, () => {
      const r = rng(31);
      for (const [M, N, K] of [[37, 70, 200], [12, 32, 128], [5, 3, 1]] as const) {
        const A = randn(M * K, r), B = randn(N * K, r);
        const want = withPath(path, () => bf16Gemm(f32ToBf16(A), f32ToBf16(B), M, N, K));
        for (const ta of [false, true]) for (const tb of [false, true]) {
          const a = ta ? transpose(A, M, K) : A, b = tb ? transpose(B, N, K) : B;
          const got = withPath(path, () => bf16GemmF32(a, ta, b, tb, M, N, K));
          const i = firstBitMismatch(got, want);
          assert.equal(i, -1, `[${M},${N},${K}] ta=${ta} tb=${tb}: first mismatch at ${i}: ${got[i]} vs ${want[i]}`);
        }
      }
    });
  }

  it('accumulates into the given output: bit for bit within one 128-wide K slice, to rounding beyond', () => {
    const r = rng(32);
    for (const [M, N, K] of [[9, 40, 100], [20, 33, 300]] as const) {
      const A = randn(M * K, r), B = randn(N * K, r), C0 = randn(M * N, r);
      const y = bf16GemmF32(A, false, B, false, M, N, K);
      const out = C0.slice();
      assert.equal(bf16GemmF32(A, false, B, false, M, N, K, { out }), out);
      for (let i = 0; i < out.length; i++) {
        const want = Math.fround(C0[i]! + y[i]!);
        if (K <= 128) assert.equal(out[i], want, `[${M},${N},${K}] at ${i}`);
        else assert.ok(Math.abs(out[i]! - want) <= 1e-5 * (Math.abs(want) + 1), `[${M},${N},${K}] at ${i}: ${out[i]} vs ${want}`);
      }
    }
  });

  it('checks its shapes', () => {
    assert.throws(() => bf16GemmF32(new Float32Array(6), false, new Float32Array(6), false, 2, 3, 4), /bf16GemmF32: a must have length 8 \(m\*k = 2\*4\), got 6/);
    assert.throws(() => bf16GemmF32(new Float32Array(8), false, new Float32Array(12), false, 2, 3, 4, { out: new Float32Array(5) }), /into.out must have length 6 \(m\*n = 2\*3\), got 5/);
  });
});
