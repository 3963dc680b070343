// FP8 GEMM vs a float64 evaluation of the same block-scaled recipe; fast vs reference; grouped and BF16.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  bf16Gemm, bf16ToF32, f32ToBf16, fp8Gemm, fp8GemmEmulated, fp8GemmGrouped, fp8GemmGroupedPacked, fp8GemmPacked, packWeights,
  quantizeActivations, quantizeWeights,
  type Fp8Activations, type Fp8ExpertWeights, type Fp8Weights,
} from '../../runtime/src/native/index.js';
import { availablePaths, withPath } from './paths.js';
import { assertClose, firstBitMismatch, fp8GemmF64, randn, rng } from './util.js';

/**
 * Named tolerance: an fp32 sum of n terms is within ~n * 2^-24 * sum|terms| of the exact sum; the
 * per-128 slices plus the promotion chain give n <= 128 + K/128. We allow 2x that.
 */
const gemmTol = (K: number) => (2 * (128 + Math.ceil(K / 128)) * 2 ** -24);

function operands(M: number, N: number, K: number, seed: number): { a: Fp8Activations; b: Fp8Weights } {
  const r = rng(seed);
  return { a: quantizeActivations(randn(M * K, r, 2), M, K), b: quantizeWeights(randn(N * K, r, 0.05), N, K) };
}

const GRID: Array<[number, number, number]> = [
  [1, 1, 1], [1, 32, 128], [12, 32, 128], [13, 33, 129], [5, 31, 127], [24, 64, 256], [25, 130, 300],
  [40, 200, 520], [3, 257, 64], [37, 45, 1000],
];

describe('FP8 GEMM', () => {
  for (const path of availablePaths()) {
    for (const [M, N, K] of GRID) {
      it(`${path}: ${M}x${N}x${K} agrees with the float64 recipe within ${'2(128+K/128)'}*2^-24 of sum|terms|`, () => {
        const { a, b } = operands(M, N, K, M * 31 + N * 7 + K);
        const got = withPath(path, () => fp8Gemm(a, b));
        const { c, abs } = fp8GemmF64(a.q, a.scales, b.q, b.scaleInv, M, N, K);
        const tol = gemmTol(K);
        assertClose(`${path} ${M}x${N}x${K}`, got, c, (i) => tol * abs[i]! + 1e-30);
      });
    }

    if (path !== 'reference') {
      it(`${path}: matches the reference path within the tolerance and its bf16 output is the rounded f32 output`, () => {
        for (const [M, N, K] of GRID) {
          const { a, b } = operands(M, N, K, K);
          const fast: Float32Array = withPath(path, () => fp8Gemm(a, b));
          const ref = withPath('reference', () => fp8Gemm(a, b));
          const { abs } = fp8GemmF64(a.q, a.scales, b.q, b.scaleInv, M, N, K);
          assertClose(`${path} vs reference ${M}x${N}x${K}`, fast, ref, (i) => 2 * gemmTol(K) * abs[i]! + 1e-30);
          const bf: Uint16Array = withPath(path, () => fp8Gemm(a, b, 'bf16'));
          assert.equal(firstBitMismatch(bf, f32ToBf16(fast)), -1, `bf16 output ${M}x${N}x${K}`);
        }
      });
    }

    it(`${path}: grouped GEMM equals per-expert GEMMs bit for bit (empty experts included)`, () => {
      const E = 4, N = 70, K = 200;
      const rows = [5, 0, 17, 1];
      const offsets = new Int32Array(E + 1);
      rows.forEach((n, e) => (offsets[e + 1] = offsets[e]! + n));
      const R = offsets[E]!;
      const r = rng(77);
      const a = quantizeActivations(randn(R * K, r), R, K);
      const ws = Array.from({ length: E }, () => quantizeWeights(randn(N * K, r, 0.1), N, K));
      const stacked: Fp8ExpertWeights = {
        experts: E, rows: N, cols: K,
        q: new Uint8Array(E * N * K), scaleInv: new Float32Array(E * ws[0]!.scaleInv.length),
      };
      ws.forEach((w, e) => { stacked.q.set(w.q, e * N * K); stacked.scaleInv.set(w.scaleInv, e * w.scaleInv.length); });
      const got = withPath(path, () => fp8GemmGrouped(a, stacked, offsets));
      const KB = Math.ceil(K / 128);
      for (let e = 0; e < E; e++) {
        const r0 = offsets[e]!, r1 = offsets[e + 1]!;
        const sub: Fp8Activations = { q: a.q.slice(r0 * K, r1 * K), scales: a.scales.slice(r0 * KB, r1 * KB), rows: r1 - r0, cols: K };
        const want = withPath(path, () => fp8Gemm(sub, ws[e]!));
        const i = firstBitMismatch(got.subarray(r0 * N, r1 * N), want);
        assert.equal(i, -1, `expert ${e} row-major index ${i}`);
      }
    });

    it(`${path}: packed weights give bit-identical results to the unpacked GEMMs`, () => {
      for (const [M, N, K] of [[13, 33, 129], [40, 200, 520]] as const) {
        const { a, b } = operands(M, N, K, N);
        const pw = withPath(path, () => packWeights(b));
        assert.equal(pw.path, path);
        const want: Float32Array = withPath(path, () => fp8Gemm(a, b));
        const got = fp8GemmPacked(a, pw); // runs on the path the weights were packed for
        assert.equal(firstBitMismatch(got, want), -1, `${M}x${N}x${K}`);
      }
      const E = 3, N = 40, K = 256, r = rng(8);
      const a = quantizeActivations(randn(20 * K, r), 20, K);
      const w = quantizeWeights(randn(E * N * K, r, 0.1), E * N, K); // 40 rows per expert: blocks straddle experts
      const perExpertScales = new Float32Array(E * 1 * 2);
      const stacked: Fp8ExpertWeights = { experts: E, rows: N, cols: K, q: w.q, scaleInv: perExpertScales.map((_, i) => 0.5 + i) };
      const offsets = Int32Array.from([0, 7, 7, 20]);
      const want: Float32Array = withPath(path, () => fp8GemmGrouped(a, stacked, offsets));
      const got = fp8GemmGroupedPacked(a, withPath(path, () => packWeights(stacked)), offsets);
      assert.equal(firstBitMismatch(got, want), -1, 'grouped');
    });

    it(`${path}: BF16 GEMM agrees with float64 within 2K*2^-24 of sum|terms| on odd shapes`, () => {
      for (const [M, N, K] of [[1, 1, 1], [13, 33, 129], [7, 70, 300]] as const) {
        const r = rng(M + N + K);
        const a = f32ToBf16(randn(M * K, r)), b = f32ToBf16(randn(N * K, r));
        const got = withPath(path, () => bf16Gemm(a, b, M, N, K));
        const af = bf16ToF32(a), bf = bf16ToF32(b);
        const want = new Float64Array(M * N), abs = new Float64Array(M * N);
        for (let m = 0; m < M; m++)
          for (let n = 0; n < N; n++)
            for (let k = 0; k < K; k++) {
              const t = af[m * K + k]! * bf[n * K + k]!;
              want[m * N + n] += t;
              abs[m * N + n] += Math.abs(t);
            }
        assertClose(`bf16 ${M}x${N}x${K}`, got, want, (i) => 2 * (K + 8) * 2 ** -24 * abs[i]! + 1e-30);
      }
    });
  }

  it('promotion every 128 K cuts the error of a 13-bit truncating accumulator at K=4096 (precision study)', async () => {
    const M = 8, N = 8, K = 4096, r = rng(12);
    const pos = (n: number) => Float32Array.from({ length: n }, () => r());
    const a = quantizeActivations(pos(M * K), M, K), b = quantizeWeights(pos(N * K), N, K);
    const { c } = fp8GemmF64(a.q, a.scales, b.q, b.scaleInv, M, N, K);
    const relErr = (x: Float32Array) => Math.max(...Array.from(x, (v, i) => Math.abs(v - c[i]!) / c[i]!));
    for (const group of [1, 32]) {
      const without = relErr(await fp8GemmEmulated(a, b, { accMantissaBits: 13, interval: 0, group }));
      const withP = relErr(await fp8GemmEmulated(a, b, { accMantissaBits: 13, interval: 128, group }));
      assert.ok(without > 1e-3, `group ${group}: a narrow accumulator loses precision without promotion (${without})`);
      assert.ok(withP < without / 10, `group ${group}: with promotion ${withP} vs without ${without}`);
    }
    const full = relErr(await fp8GemmEmulated(a, b, { accMantissaBits: 23, interval: 128, group: 1 }));
    assert.ok(full < 1e-5, `a 23-bit accumulator is plain fp32 (${full})`);
  });

  it('zero-size shapes give zero-size or all-zero outputs', () => {
    const a = quantizeActivations(new Float32Array(0), 0, 64), b = quantizeWeights(new Float32Array(5 * 64), 5, 64);
    assert.equal(fp8Gemm(a, b).length, 0);
    const a2 = quantizeActivations(new Float32Array(0), 3, 0), b2 = quantizeWeights(new Float32Array(0), 4, 0);
    assert.deepEqual(Array.from(fp8Gemm(a2, b2)), new Array(12).fill(0));
  });

  it('packed weights check their shapes', () => {
    const { a, b } = operands(4, 4, 128, 3);
    const pw = packWeights(b);
    assert.throws(() => fp8GemmPacked(quantizeActivations(new Float32Array(4 * 64), 4, 64), pw), /a\.cols \(64\) must equal weights\.cols \(128\)/);
    assert.throws(() => fp8GemmPacked(a, { ...pw, packed: pw.packed.subarray(1) }), /packed has \d+ elements, expected/);
    assert.throws(() => fp8GemmPacked(a, { ...pw, path: 'gpu' as never }), /must be a PackedFp8Weights/);
  });

  it('rejects mismatched K and bad offsets with messages that name the argument', () => {
    const { a, b } = operands(4, 4, 128, 1);
    const b2 = quantizeWeights(new Float32Array(4 * 64), 4, 64);
    assert.throws(() => fp8Gemm(a, b2), /a\.cols \(128\) must equal b\.cols \(64\)/);
    assert.throws(() => fp8Gemm({ ...a, scales: new Float32Array(3) }, b), /a\.scales must have length 4/);
    const stacked: Fp8ExpertWeights = { experts: 2, rows: 4, cols: 128, q: new Uint8Array(2 * 4 * 128), scaleInv: new Float32Array(2) };
    assert.throws(() => fp8GemmGrouped(a, stacked, new Int32Array([0, 3, 2])), /offsets must be non-decreasing/);
    assert.throws(() => fp8GemmGrouped(a, stacked, new Int32Array([0, 1, 3])), /offsets\[2\] \(3\) must equal a\.rows \(4\)/);
    assert.throws(() => fp8Gemm(a, b, 'f16' as 'f32'), /out must be 'f32' or 'bf16'/);
  });
});
