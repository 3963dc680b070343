// Parameter counts against the published sizes, and model spec resolution errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countParams, resolveModel } from '../../../operator/plan/model-size.js';
import { PRESETS } from '../../../operator/plan/presets.js';

test('deepseek-v3-671b: 671B total and 37B activated per token (TR), within 2%', () => {
  const c = countParams(PRESETS['deepseek-v3-671b']!);
  assert.ok(Math.abs(c.total / 671e9 - 1) < 0.02, `total ${c.total}`);
  assert.ok(Math.abs(c.active / 37e9 - 1) < 0.03, `active ${c.active}`);
  // The released checkpoint (685B) = 671B main model + 14B MTP module including its own embedding and head copies.
  assert.ok(Math.abs((c.total + c.mtp + c.embedding + c.head) / 685e9 - 1) < 0.02, `with MTP ${c.total + c.mtp}`);
});

test('deepseek-v3-tiny: same shape, small enough to train on one machine', () => {
  const m = PRESETS['deepseek-v3-tiny']!;
  assert.equal(m.num_hidden_layers, 4);
  assert.equal(m.first_k_dense_replace, 1);
  assert.equal(m.num_experts_per_tok, 4);
  assert.equal(m.n_group, 4);
  assert.equal(m.topk_group, 2);
  assert.equal(m.num_nextn_predict_layers, 1);
  const c = countParams(m);
  // Embedding 2048×256 twice (+ final norm) and 4 layers; by hand: dense layer 1 and 3 MoE layers.
  assert.ok(c.total > 1e6 && c.total < 2e7, `${c.total}`);
});

test('a dense layer counts attention + norms + 3·d·inter; a MoE layer adds gate, shared and routed experts', () => {
  const m = { ...PRESETS['deepseek-v3-tiny']!, num_hidden_layers: 1, first_k_dense_replace: 1, vocab_size: 1 };
  const d = 256;
  // MLA: wq_a d×128 + norm 128 + wq_b 128×4·48; wkv_a d×(64+16) + norm 64 + wkv_b 64×4·(32+32); wo 4·32×d.
  const attn = d * 128 + 128 + 128 * 4 * 48 + d * 80 + 64 + 64 * 4 * 64 + 4 * 32 * d;
  const dense = attn + 2 * d + 3 * d * 704;
  assert.equal(countParams(m).total, dense + 2 * d + d); // + embedding (1·d) + head (1·d) + final norm (d)
});

test('resolveModel: presets, explicit configs with defaults, and field errors', () => {
  const ok = resolveModel({ preset: 'deepseek-v3-tiny' });
  assert.ok(ok.ok && ok.preset === 'deepseek-v3-tiny');
  const cfg = resolveModel({ config: { vocab_size: 100, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 2, n_routed_experts: 8, num_experts_per_tok: 2, moe_intermediate_size: 32 } });
  assert.ok(cfg.ok && cfg.model.n_group === 1 && cfg.model.kv_lora_rank === 512);
  const cases: [unknown, RegExp, string][] = [
    [{ preset: 'gpt-5' }, /unknown preset "gpt-5"; use one of deepseek-v3-671b, deepseek-v3-tiny/, 'spec.model.preset'],
    [{ preset: 'deepseek-v3-tiny', config: {} }, /exactly one of model.preset or model.config/, 'spec.model'],
    [{}, /set model.preset/, 'spec.model'],
    [{ config: { hidden_size: 64 } }, /is required/, 'spec.model.config.vocab_size'],
    [{ config: { ...PRESETS['deepseek-v3-tiny'], hidden_size: 1.5 } }, /whole number/, 'spec.model.config.hidden_size'],
    [{ config: { ...PRESETS['deepseek-v3-tiny'], num_experts_per_tok: 20 } }, /must not exceed n_routed_experts/, 'spec.model.config.num_experts_per_tok'],
    [{ config: { ...PRESETS['deepseek-v3-tiny'], n_group: 3 } }, /divisible by n_group/, 'spec.model.config.n_group'],
    [{ config: { ...PRESETS['deepseek-v3-tiny'], topk_group: 5 } }, /between 1 and n_group/, 'spec.model.config.topk_group'],
    [{ config: { ...PRESETS['deepseek-v3-tiny'], topk_group: 1, num_experts_per_tok: 5 } }, /exceeds the experts of topk_group groups/, 'spec.model.config.num_experts_per_tok'],
    [{ config: { ...PRESETS['deepseek-v3-tiny'], first_k_dense_replace: 9 } }, /must not exceed num_hidden_layers/, 'spec.model.config.first_k_dense_replace'],
    [{ config: { ...PRESETS['deepseek-v3-tiny'], hidden_size: 0 } }, /must be ≥ 1/, 'spec.model.config.hidden_size'],
  ];
  for (const [spec, msg, field] of cases) {
    const r = resolveModel(spec);
    assert.equal(r.ok, false, JSON.stringify(spec));
    if (!r.ok) {
      const e = r.errors.find((x) => x.field === field);
      assert.ok(e, `${JSON.stringify(spec)} → ${JSON.stringify(r.errors)}`);
      assert.match(e.message, msg);
    }
  }
});
