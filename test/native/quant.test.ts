// Block quantisation vs the numpy + ml_dtypes recipe (bit-exact), dequantisation, fast vs reference.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { dequantizeActivations, dequantizeWeights, quantizeActivations, quantizeWeights } from '../../runtime/src/native/index.js';
import { nonGemmPaths, withPath } from './paths.js';
import { asF32, asU8, firstBitMismatch, fp8Value, oracle, randn, rng } from './util.js';

// Shapes with full and partial tiles/blocks, single rows and columns.
const SHAPES: Array<[number, number]> = [[1, 1], [3, 128], [5, 129], [130, 300], [128, 256], [257, 77]];

function sample(rows: number, cols: number, seed: number): Float32Array {
  const r = rng(seed);
  const x = randn(rows * cols, r, 3);
  // Vary the magnitude per row and plant tiny and zero tiles so the 1e-4 floor matters.
  for (let i = 0; i < rows; i++) {
    const f = 2 ** Math.floor(r() * 20 - 10);
    for (let j = 0; j < cols; j++) x[i * cols + j]! *= f;
  }
  if (cols > 10) x.fill(0, 0, 10);
  if (rows * cols > 300) x.fill(1e-7, 200, 300);
  return x;
}

describe('FP8 block quantisation', () => {
  for (const path of nonGemmPaths()) {
    for (const pow2 of [false, true]) {
      for (const [rows, cols] of SHAPES) {
        it(`${path}: activations ${rows}x${cols} (pow2=${pow2}) match numpy+ml_dtypes bit for bit`, () => {
          const x = sample(rows, cols, rows * 1000 + cols);
          const [wq, ws] = oracle('quant_act', [String(rows), String(cols), pow2 ? '1' : '0'], [x], 2);
          const got = withPath(path, () => quantizeActivations(x, rows, cols, { pow2 }));
          const si = firstBitMismatch(got.scales, asF32(ws!));
          assert.equal(si, -1, `scale[${si}]: got ${got.scales[si]}, numpy ${asF32(ws!)[si]}`);
          const qi = firstBitMismatch(got.q, asU8(wq!));
          assert.equal(qi, -1, `q[${qi}] (x=${x[qi]}): got 0x${got.q[qi]?.toString(16)}, numpy 0x${asU8(wq!)[qi]?.toString(16)}`);
        });

        it(`${path}: weights ${rows}x${cols} (pow2=${pow2}) match numpy+ml_dtypes bit for bit`, () => {
          const w = sample(rows, cols, rows * 7 + cols);
          const [wq, ws] = oracle('quant_weight', [String(rows), String(cols), pow2 ? '1' : '0'], [w], 2);
          const got = withPath(path, () => quantizeWeights(w, rows, cols, { pow2 }));
          const si = firstBitMismatch(got.scaleInv, asF32(ws!));
          assert.equal(si, -1, `scaleInv[${si}]: got ${got.scaleInv[si]}, numpy ${asF32(ws!)[si]}`);
          const qi = firstBitMismatch(got.q, asU8(wq!));
          assert.equal(qi, -1, `q[${qi}]: got 0x${got.q[qi]?.toString(16)}, numpy 0x${asU8(wq!)[qi]?.toString(16)}`);
        });
      }
    }

    it(`${path}: dequantisation multiplies each code by its tile/block scale exactly`, () => {
      const rows = 130, cols = 300;
      const x = sample(rows, cols, 5);
      const a = withPath(path, () => quantizeActivations(x, rows, cols));
      const w = withPath(path, () => quantizeWeights(x, rows, cols));
      const da = withPath(path, () => dequantizeActivations(a));
      const dw = withPath(path, () => dequantizeWeights(w));
      const KB = Math.ceil(cols / 128);
      for (let i = 0; i < rows; i++)
        for (let j = 0; j < cols; j++) {
          const ea = Math.fround(fp8Value(a.q[i * cols + j]!) * a.scales[i * KB + (j >> 7)]!);
          const ew = Math.fround(fp8Value(w.q[i * cols + j]!) * w.scaleInv[(i >> 7) * KB + (j >> 7)]!);
          assert.equal(da[i * cols + j], ea, `activation [${i},${j}]`);
          assert.equal(dw[i * cols + j], ew, `weight [${i},${j}]`);
        }
    });
  }

  it('quantisation error stays within half an E4M3 step (relative 2^-4) of each tile max', () => {
    const rows = 64, cols = 256;
    const x = sample(rows, cols, 9);
    const d = dequantizeActivations(quantizeActivations(x, rows, cols));
    for (let i = 0; i < rows; i++)
      for (let t = 0; t < 2; t++) {
        let amax = 0;
        for (let j = t * 128; j < t * 128 + 128; j++) amax = Math.max(amax, Math.abs(x[i * cols + j]!));
        for (let j = t * 128; j < t * 128 + 128; j++) {
          const err = Math.abs(d[i * cols + j]! - x[i * cols + j]!);
          assert.ok(err <= Math.max(amax, 1e-4) * 2 ** -4 + 1e-30, `[${i},${j}] err ${err} vs amax ${amax}`);
        }
      }
  });

  it('rejects NaN and inf inputs with the flat index, and handles zero-size shapes', () => {
    const x = new Float32Array(300).fill(1);
    x[257] = NaN;
    assert.throws(() => quantizeActivations(x, 3, 100), /non-finite value at flat index 257/);
    x[257] = 1;
    x[12] = -Infinity;
    assert.throws(() => quantizeWeights(x, 3, 100), /non-finite value at flat index 12/);
    const z = quantizeActivations(new Float32Array(0), 0, 7);
    assert.equal(z.q.length, 0);
    assert.equal(z.scales.length, 0);
    const zw = quantizeWeights(new Float32Array(0), 5, 0);
    assert.equal(zw.scaleInv.length, 0);
  });
});
