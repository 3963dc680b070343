// config.json both ways (runtime/src/checkpoint/hf-config.ts): the export's fields, and the import of DeepSeek's and
// transformers' forms, with what this runtime does not implement refused by field.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHfConfig, toHfConfig } from '../../../runtime/src/checkpoint/hf-config.js';
import { modelConfig } from '../../../runtime/src/model/config.js';

const tiny = modelConfig('deepseek-v3-tiny');

describe('config.json', () => {
  it('round-trips every field the model uses', () => {
    assert.deepEqual(fromHfConfig(toHfConfig(tiny), 'c.json'), tiny);
    const noQ = modelConfig('deepseek-v3-tiny', { q_lora_rank: 0, rope_theta: 50000 });
    const j = toHfConfig(noQ);
    assert.equal(j.q_lora_rank, null);
    assert.deepEqual(fromHfConfig(j, 'c.json'), noQ);
  });

  it('reads q_lora_rank null, rope_theta inside rope_parameters (transformers 5), and ignores fields that change nothing', () => {
    const j = { ...toHfConfig(tiny), q_lora_rank: null, rope_theta: undefined, rope_parameters: { rope_type: 'default', rope_theta: 12345 }, ep_size: 8, use_cache: false };
    const c = fromHfConfig(j, 'c.json');
    assert.equal(c.q_lora_rank, 0);
    assert.equal(c.rope_theta, 12345);
  });

  it('reads YaRN as the release writes it (rope_scaling) and as transformers 5 does (rope_parameters), and writes it back', () => {
    const released = { type: 'yarn', factor: 40, original_max_position_embeddings: 4096, beta_fast: 32, beta_slow: 1, mscale: 1.0, mscale_all_dim: 1.0 };
    const c = fromHfConfig({ ...toHfConfig(tiny), rope_scaling: released }, 'c.json');
    assert.deepEqual(c.rope_scaling, { ...released, truncate: true });
    assert.deepEqual(toHfConfig(c).rope_scaling, released);
    // transformers 5: theta inside, beta 0 meaning its default, the factor derived from the context lengths.
    const t5 = fromHfConfig({ ...toHfConfig(tiny), max_position_embeddings: 1024, rope_theta: undefined,
      rope_parameters: { rope_type: 'yarn', rope_theta: 50000, original_max_position_embeddings: 256, beta_fast: 0, truncate: false } }, 'c.json');
    assert.equal(t5.rope_theta, 50000);
    assert.deepEqual(t5.rope_scaling, { type: 'yarn', factor: 4, original_max_position_embeddings: 256, beta_fast: 32, beta_slow: 1, mscale: 0, mscale_all_dim: 0, truncate: false });
  });

  it('refuses by field what would change the function here', () => {
    const base = toHfConfig(tiny);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ rope_scaling: { type: 'linear', factor: 4 } }, /c\.json: rope_scaling\.rope_type: "linear" is not implemented \(default and yarn are\)/],
      [{ rope_parameters: { rope_type: 'llama3', rope_theta: 10000, factor: 8 } }, /rope_parameters\.rope_type: "llama3"/],
      [{ rope_parameters: { rope_type: 'yarn', rope_theta: 10000, factor: 40 } }, /rope_parameters\.original_max_position_embeddings: must be a number/],
      [{ rope_scaling: { type: 'yarn', factor: 0.5, original_max_position_embeddings: 64 } }, /rope_scaling\.factor must be >= 1/],
      [{ hidden_act: 'gelu' }, /hidden_act: "gelu" is not implemented/],
      [{ norm_topk_prob: false }, /norm_topk_prob: false is not implemented/],
      [{ tie_word_embeddings: true }, /tie_word_embeddings/],
      [{ num_key_value_heads: 1 }, /num_key_value_heads: 1 differs from num_attention_heads \(4\)/],
      [{ model_type: 'llama' }, /model_type: "llama" is not deepseek_v3/],
      [{ rope_parameters: { rope_type: 'default', rope_theta: -1 } }, /rope_parameters\.rope_theta: must be a number > 0/],
      [{ hidden_size: 0 }, /c\.json: model config: hidden_size must be a positive integer/],
    ];
    for (const [patch, re] of cases) assert.throws(() => fromHfConfig({ ...base, ...patch }, 'c.json'), re, JSON.stringify(patch));
  });
});
