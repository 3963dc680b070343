// The FP8 dispatch codec of expert parallelism: 1×128 tiles, scale = amax/448, E4M3 codes.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { dequantRows, quantRows } from '../../../runtime/src/parallel/moe-ep.js';

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
