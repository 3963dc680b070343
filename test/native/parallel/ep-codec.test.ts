// The FP8 dispatch codec of expert parallelism: 1×128 tiles, scale = amax/448, E4M3 codes.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { dequantRows, quantRows } from '../../../runtime/src/parallel/moe-ep.js';
import { decodeE4M3, encodeE4M3 } from '../../../runtime/src/model/fp8.js';

it('dispatch codec: one scale per row and 128 columns, the tile max exact, others within E4M3 precision', () => {
  const rows = 3, d = 200; // two tiles per row, the second one partial
  const x = new Float32Array(rows * d);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37) * (1 + (i % 7));
  const { q, s } = quantRows(x, rows, d);
  assert.equal(q.length, rows * d);
  assert.equal(s.length, rows * 2);
  const y = dequantRows(q, s, rows, d);
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < 2; t++) {
      const c0 = t * 128, c1 = Math.min(d, c0 + 128);
      let amax = 0, at = c0;
      for (let c = c0; c < c1; c++) if (Math.abs(x[r * d + c]) > amax) { amax = Math.abs(x[r * d + c]); at = c; }
      assert.equal(s[r * 2 + t], Math.fround(amax / 448), `scale of row ${r} tile ${t}`);
      assert.ok(Math.abs(y[r * d + at] - x[r * d + at]) <= 1e-6 * amax, `tile max of row ${r} tile ${t} survives`);
      for (let c = c0; c < c1; c++) {
        const err = Math.abs(y[r * d + c] - x[r * d + c]);
        // 3 mantissa bits: half an ulp is 2^-4 of the value for normals; subnormals (below 2^-6·scale) step 2^-9·scale
        assert.ok(err <= Math.max(Math.abs(x[r * d + c]) / 16, s[r * 2 + t] * 2 ** -10) * 1.0001, `row ${r} col ${c}: ${x[r * d + c]} -> ${y[r * d + c]}`);
      }
    }
  }
});

it('dispatch codec: the codes are the reference E4M3 of x / scale in float32, and decode to code × scale', () => {
  const rows = 5, d = 300; // three tiles per row, the last partial; one all-zero row takes the 1e-4 amax floor
  const x = new Float32Array(rows * d);
  for (let i = 0; i < x.length; i++) x[i] = i >= 4 * d ? 0 : Math.fround(Math.cos(i * 1.3) * 10 ** ((i % 9) - 4));
  const { q, s } = quantRows(x, rows, d);
  const y = dequantRows(q, s, rows, d);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < d; c++) {
      const t = Math.floor(c / 128), sc = s[r * 3 + t];
      if (r === 4) assert.equal(sc, Math.fround(1e-4 / 448), 'zero row: the amax floor');
      assert.equal(q[r * d + c], encodeE4M3(Math.fround(x[r * d + c] / sc)), `code of row ${r} col ${c}`);
      assert.equal(y[r * d + c], Math.fround(decodeE4M3(q[r * d + c]) * sc), `decoded row ${r} col ${c}`);
    }
  }
});

it('dispatch codec: a NaN in the rows is an error, not a code', () => {
  const x = new Float32Array(256).fill(1);
  x[200] = NaN;
  assert.throws(() => quantRows(x, 2, 128), /finite|NaN|inf/i);
});
