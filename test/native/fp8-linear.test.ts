// The fused FP8 linear backward (kernels/fp8_linear.h) against the recipe's operands built by the separate training
// quantisers (train-ops.ts: gradScale, quantizeActivationsScaled, quantizeActivationsCols, weightsTransposed) and
// fp8GemmT, bit for bit on every path; the experts' version against one call per expert; the stacked weight
// quantisation against one quantizeWeights per matrix.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fp8ExpertsBackward, fp8Gemm, fp8LinearBackward, fp8LinearForward, quantizeActivations, quantizeWeights, quantizeWeightsStacked } from '../../runtime/src/native/index.js';
import { gradScale } from '../../runtime/src/model/precision.js';
import * as tops from '../../runtime/src/native/train-ops.js';
import { firstBitMismatch, randn, rng } from './util.js';
import { availablePaths, withPath } from './paths.js';

const same = (what: string, got: ArrayLike<number>, want: ArrayLike<number>): void => {
  const i = firstBitMismatch(got, want);
  assert.equal(i, -1, `${what}: first bit mismatch at ${i}: ${got[i]} vs ${want[i]}`);
};

describe('fused FP8 linear backward', () => {
  // T not a multiple of 128 (a partial tile along T), out and in not multiples of 128 (partial tiles and blocks),
  // gradients far below the 1e-4 scale floor, an all-zero gradient (c = 1).
  const shapes = [
    { T: 37, out: 130, inF: 200, scale: 1 },
    { T: 300, out: 256, inF: 128, scale: 1e-7 },
    { T: 128, out: 64, inF: 96, scale: 0 },
  ];
  for (const path of availablePaths()) {
    it(`dx and dW equal the separately built operands' fp8GemmT products, bit for bit (${path})`, () => {
      shapes.forEach(({ T, out, inF, scale }, s) => {
        const r = rng(40 + s);
        const x = randn(T * inF, r), W = randn(out * inF, r, 0.05), dy = randn(T * out, r, scale);
        const dx0 = randn(T * inF, r), dW0 = randn(out * inF, r); // both paths add to what is there
        const want = withPath(path, () => {
          const dx = dx0.slice(), dW = dW0.slice(), c = gradScale(dy, true);
          const dyRows = tops.activationsOperand(tops.quantizeActivationsScaled(dy, T, out, c));
          tops.fp8GemmT(dyRows, tops.weightsTransposed(quantizeWeights(W, out, inF)), { out: dx, alpha: 1 / c });
          const dyCols = tops.quantizeActivationsCols(dy, T, out, c);
          tops.fp8GemmT(dyCols, tops.weightsTransposed(quantizeWeights(x, T, inF)), { out: dW, alpha: 1 / c });
          return { dx, dW };
        });
        const got = withPath(path, () => {
          const dx = dx0.slice(), dW = dW0.slice();
          const ms = fp8LinearBackward(dy, x, T, out, inF, quantizeWeights(W, out, inF), dx, dW);
          assert.ok(ms >= 0, `quantisation time ${ms}`);
          return { dx, dW };
        });
        same(`shape ${s} dx`, got.dx, want.dx);
        same(`shape ${s} dW`, got.dW, want.dW);
        // Either product alone (a deferred wgrad's two halves): x not needed for dx, W's codes not for dW.
        const onlyDx = dx0.slice(), onlyDW = dW0.slice();
        withPath(path, () => fp8LinearBackward(dy, null, T, out, inF, quantizeWeights(W, out, inF), onlyDx, null));
        withPath(path, () => fp8LinearBackward(dy, x, T, out, inF, null, null, onlyDW));
        same(`shape ${s} dx alone`, onlyDx, want.dx);
        same(`shape ${s} dW alone`, onlyDW, want.dW);
      });
    });
  }

  for (const path of availablePaths()) {
    it(`forward: fp8Gemm on quantizeActivations(x), bit for bit (${path})`, () => {
      const r = rng(50);
      for (const [T, inF, out] of [[37, 200, 130], [300, 256, 64]] as const) {
        const x = randn(T * inF, r), w = quantizeWeights(randn(out * inF, r, 0.05), out, inF);
        const want = withPath(path, () => fp8Gemm(quantizeActivations(x, T, inF), w));
        const got = withPath(path, () => fp8LinearForward(x, T, inF, w));
        same(`[${T},${inF},${out}] y`, got.y, want);
        assert.ok(got.quantMs >= 0);
      }
    });
  }

  it('forward names a non-finite input; weights and stacks quantise into reused buffers', () => {
    const r = rng(51), T = 9, inF = 130, out = 20;
    const x = randn(T * inF, r), W = randn(out * inF, r), w = quantizeWeights(W, out, inF);
    assert.throws(() => fp8LinearForward(Float32Array.from(x, (v, i) => (i === 140 ? Infinity : v)), T, inF, w), /x holds a non-finite value at flat index 140/);
    const into = quantizeWeights(randn(out * inF, r), out, inF);
    assert.equal(quantizeWeights(W, out, inF, {}, into), into);
    same('codes into', into.q, w.q);
    same('scales into', into.scaleInv, w.scaleInv);
    assert.throws(() => quantizeWeights(W, out, inF, {}, quantizeWeights(randn(4 * inF, r), 4, inF)), /into is \[4, 130\], expected \[20, 130\]/);
    const Ws = [W, randn(out * inF, r)], fresh = quantizeWeightsStacked(Ws, out, inF);
    const buf = { q: new Uint8Array(fresh.q.length), scaleInv: new Float32Array(fresh.scaleInv.length) };
    const st = quantizeWeightsStacked(Ws, out, inF, buf);
    assert.equal(st.q, buf.q);
    same('stack into', st.q, fresh.q);
    same('stack scales into', st.scaleInv, fresh.scaleInv);
  });

  it('names a non-finite gradient or input by its flat index', () => {
    const T = 20, out = 16, inF = 24, r = rng(3);
    const x = randn(T * inF, r), W = quantizeWeights(randn(out * inF, r), out, inF), dy = randn(T * out, r);
    const bad = (a: Float32Array, i: number) => Float32Array.from(a, (v, j) => (j === i ? NaN : v));
    assert.throws(() => fp8LinearBackward(bad(dy, 33), x, T, out, inF, W, new Float32Array(T * inF), new Float32Array(out * inF)), /dy holds a non-finite value at flat index 33/);
    assert.throws(() => fp8LinearBackward(dy, bad(x, 7), T, out, inF, W, new Float32Array(T * inF), new Float32Array(out * inF)), /x holds a non-finite value at flat index 7/);
    assert.throws(() => fp8LinearBackward(dy, x, T, out, inF, W, new Float32Array(5), null), /dx has 5 elements, expected 480/);
    assert.throws(() => fp8LinearBackward(dy, x, T, out + 1, inF, W, null, null), /w is \[16, 24\], expected \[out, in\] = \[17, 24\]/);
    assert.throws(() => fp8LinearBackward(dy, x, T, out, inF, null, new Float32Array(T * inF), null), /dx needs W's forward codes/);
    assert.throws(() => fp8LinearBackward(dy, null, T, out, inF, W, null, new Float32Array(out * inF)), /dW needs the layer's input x/);
  });

  it('stacked weight quantisation: each matrix its own quantizeWeights', () => {
    const r = rng(9), rows = 256, cols = 200;
    const ws = [0.1, 3, 1e-6].map((s) => randn(rows * cols, r, s));
    const st = quantizeWeightsStacked(ws, rows, cols);
    assert.equal(st.experts, 3);
    const nb = 2 * 2;
    ws.forEach((w, e) => {
      const one = quantizeWeights(w, rows, cols);
      same(`expert ${e} codes`, st.q.subarray(e * rows * cols, (e + 1) * rows * cols), one.q);
      same(`expert ${e} scales`, st.scaleInv.subarray(e * nb, (e + 1) * nb), one.scaleInv);
    });
    assert.throws(() => quantizeWeightsStacked([ws[0]!, new Float32Array(3)], rows, cols), /w\[1\] has 3 elements, expected N\*K = 51200/);
  });

  for (const path of availablePaths()) {
    it(`experts: one call per layer equals one fp8LinearBackward per (expert, projection), bit for bit (${path})`, () => {
      const r = rng(21), inF = 256, out = 128, P = 2;
      const counts = [40, 0, 130, 1], E = counts.length;
      const off = new Int32Array(E + 1);
      counts.forEach((n, e) => (off[e + 1] = off[e]! + n));
      const R = off[E]!;
      const x = randn(R * inF, r), dy = Array.from({ length: P }, (_, p) => randn(R * out, r, p ? 1e-3 : 1));
      const Ws = Array.from({ length: P }, () => Array.from({ length: E }, () => randn(out * inF, r, 0.05)));
      const w = Ws.map((list) => quantizeWeightsStacked(list, out, inF));
      const dW0 = Ws.map((list) => list.map(() => randn(out * inF, r)));
      const got = withPath(path, () => {
        const dx = new Float32Array(R * inF), dW = dW0.map((l) => l.map((a) => a.slice()));
        fp8ExpertsBackward(x, inF, off, dy, out, w, dx, dW);
        return { dx, dW };
      });
      const want = withPath(path, () => {
        const dx = new Float32Array(R * inF), dW = dW0.map((l) => l.map((a) => a.slice()));
        for (let e = 0; e < E; e++) {
          const n = counts[e]!;
          if (n === 0) continue;
          for (let p = 0; p < P; p++) {
            const xe = x.subarray(off[e]! * inF, off[e + 1]! * inF), dye = dy[p]!.subarray(off[e]! * out, off[e + 1]! * out);
            fp8LinearBackward(dye, xe, n, out, inF, quantizeWeights(Ws[p]![e]!, out, inF), dx.subarray(off[e]! * inF, off[e + 1]! * inF), dW[p]![e]!);
          }
        }
        return { dx, dW };
      });
      same('dx', got.dx, want.dx);
      for (let p = 0; p < P; p++) for (let e = 0; e < E; e++) same(`dW[${p}][${e}]`, got.dW[p]![e]!, want.dW[p]![e]!);
      // An expert without rows leaves its gradient as it was.
      same('dW of the empty expert', got.dW[0]![1]!, dW0[0]![1]!);
    });
  }
});
