// YaRN (REFERENCE.md §8) against DeepSeek-V3's formulas written independently in numpy (yarn_ref.py): the blended
// frequencies of the released configuration and of a small one, and the softmax scale's correction. The logits of a
// whole YaRN model against transformers' DeepseekV3ForCausalLM are in bench/interop (it needs torch).
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { modelConfig, type YarnScaling } from '../../../runtime/src/model/config.js';
import { mlaDims } from '../../../runtime/src/model/mla-projections.js';
import { ropeTable, yarnSoftmaxFactor } from '../../../runtime/src/model/rope.js';
import { pythonJson, pythonWith } from '../../util/python.js';

const script = path.join(path.resolve(fileURLToPath(import.meta.url), '../../../../..'), 'test/unit/interop/yarn_ref.py');
const yarn = (factor: number, original: number, mscale = 1): YarnScaling =>
  ({ type: 'yarn', factor, original_max_position_embeddings: original, beta_fast: 32, beta_slow: 1, mscale, mscale_all_dim: mscale, truncate: true });

describe('YaRN', () => {
  for (const [name, dr, theta, y] of [['released 671B (64 dims, factor 40 over 4096)', 64, 10000, yarn(40, 4096)], ['small (16 dims, factor 4 over 64, theta 50000)', 16, 50000, yarn(4, 64)]] as const) {
    it(`${name}: frequencies and softmax factor as DeepSeek's reference computes them`, () => {
      const py = pythonWith(['numpy']);
      const ref = pythonJson(py, script, [String(dr), String(theta), String(y.factor), String(y.original_max_position_embeddings), '32', '1', String(y.mscale)]) as { inv: number[]; softmax_factor: number };
      const t = ropeTable(dr, theta, y);
      assert.equal(t.inv.length, dr / 2);
      t.inv.forEach((v, i) => assert.ok(Math.abs(v - ref.inv[i]) <= 1e-12 * Math.abs(ref.inv[i]), `inv[${i}] ${v} vs ${ref.inv[i]}`));
      assert.equal(t.amp, 1, 'mscale = mscale_all_dim: no factor on the rotated values');
      // Some dims are interpolated and some kept: the blend is really in use.
      const plain = ropeTable(dr, theta);
      assert.ok(t.inv[0] === plain.inv[0] && t.inv[dr / 2 - 1] < plain.inv[dr / 2 - 1]);
      const c = modelConfig('deepseek-v3-tiny', { rope_theta: theta, rope_scaling: y });
      assert.ok(Math.abs(yarnSoftmaxFactor(c) - ref.softmax_factor) < 1e-12);
      assert.ok(Math.abs(mlaDims(c).scale - ref.softmax_factor / Math.sqrt(c.qk_nope_head_dim + c.qk_rope_head_dim)) < 1e-15);
    });
  }

  it('released values: m = 0.1·ln 40 + 1 ≈ 1.3689, so the softmax scale grows by m² ≈ 1.8739', () => {
    assert.ok(Math.abs(yarnSoftmaxFactor(modelConfig('deepseek-v3-671b', { rope_scaling: yarn(40, 4096) })) - 1.8739) < 1e-4);
    assert.equal(yarnSoftmaxFactor(modelConfig('deepseek-v3-671b')), 1);
  });
});
