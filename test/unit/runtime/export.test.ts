// The inference export's layout for the full 671B preset, computed without weights, against REFERENCE.md §1–2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modelConfig } from '../../../runtime/src/model/config.js';
import { exportConfig, exportFiles, exportLayout, shardPlan } from '../../../runtime/src/checkpoint/export.js';
import { parse, asF32 } from '../../../runtime/src/checkpoint/safetensors.js';
import { decodeE4M3 } from '../../../runtime/src/model/fp8.js';
import { buildParams } from '../../../runtime/src/model/transformer.js';
import { Rng } from '../../../runtime/src/model/rng.js';
import { alloc32 } from '../../../runtime/src/model/tensor.js';
import { microOverrides } from './fixtures.js';
import { tokenizerFromJSON } from '../../../runtime/src/data/tokenizer.js';

const c671 = modelConfig('deepseek-v3-671b');
// The released layout exactly: every projection FP8, kv_a_proj_with_mqa's 576 rows with a rounded-up scale grid.
const layout = exportLayout(c671, 'release');
const byName = new Map(layout.map((e) => [e.name, e]));

function expectTensor(name: string, dtype: string, shape: number[]): void {
  const e = byName.get(name);
  assert.ok(e, `${name} missing from the export layout`);
  assert.equal(e.dtype, dtype, `${name} dtype`);
  assert.deepEqual(e.shape, shape, `${name} shape`);
}

test('671B export: MLA projections are E4M3 with 128×128 float32 scale_inv (REFERENCE.md §1 shapes)', () => {
  expectTensor('model.layers.0.self_attn.q_a_proj.weight', 'F8_E4M3', [1536, 7168]);
  expectTensor('model.layers.0.self_attn.q_a_proj.weight_scale_inv', 'F32', [12, 56]);
  expectTensor('model.layers.0.self_attn.q_a_layernorm.weight', 'BF16', [1536]);
  expectTensor('model.layers.0.self_attn.q_b_proj.weight', 'F8_E4M3', [128 * 192, 1536]);
  expectTensor('model.layers.0.self_attn.kv_a_proj_with_mqa.weight', 'F8_E4M3', [576, 7168]);
  expectTensor('model.layers.0.self_attn.kv_a_proj_with_mqa.weight_scale_inv', 'F32', [5, 56]);
  expectTensor('model.layers.0.self_attn.kv_a_layernorm.weight', 'BF16', [512]);
  expectTensor('model.layers.0.self_attn.kv_b_proj.weight', 'F8_E4M3', [128 * 256, 512]);
  expectTensor('model.layers.0.self_attn.o_proj.weight', 'F8_E4M3', [7168, 16384]);
});

test('671B export: 3 dense layers (inner 18432), 58 MoE layers with 256 experts + shared, gate BF16, bias F32', () => {
  expectTensor('model.layers.2.mlp.gate_proj.weight', 'F8_E4M3', [18432, 7168]);
  expectTensor('model.layers.2.mlp.down_proj.weight_scale_inv', 'F32', [56, 144]);
  assert.equal(byName.has('model.layers.2.mlp.gate.weight'), false);
  expectTensor('model.layers.3.mlp.gate.weight', 'BF16', [256, 7168]);
  expectTensor('model.layers.3.mlp.gate.e_score_correction_bias', 'F32', [256]);
  expectTensor('model.layers.60.mlp.experts.255.down_proj.weight', 'F8_E4M3', [7168, 2048]);
  expectTensor('model.layers.60.mlp.experts.255.up_proj.weight_scale_inv', 'F32', [16, 56]);
  expectTensor('model.layers.60.mlp.shared_experts.gate_proj.weight', 'F8_E4M3', [2048, 7168]);
  expectTensor('model.layers.60.input_layernorm.weight', 'BF16', [7168]);
  expectTensor('model.layers.60.post_attention_layernorm.weight', 'BF16', [7168]);
  assert.equal(byName.has('model.layers.60.mlp.experts.256.up_proj.weight'), false);
  const experts = layout.filter((e) => /^model\.layers\.\d+\.mlp\.experts\.\d+\.gate_proj\.weight$/.test(e.name));
  assert.equal(experts.length, (61 - 3 + 1) * 256); // 58 MoE layers + the MTP layer
});

test('671B export: embedding, head, final norm and the MTP layer 61 (enorm, hnorm, eh_proj, shared head)', () => {
  expectTensor('model.embed_tokens.weight', 'BF16', [129280, 7168]);
  expectTensor('lm_head.weight', 'BF16', [129280, 7168]);
  expectTensor('model.norm.weight', 'BF16', [7168]);
  expectTensor('model.layers.61.enorm.weight', 'BF16', [7168]);
  expectTensor('model.layers.61.hnorm.weight', 'BF16', [7168]);
  expectTensor('model.layers.61.eh_proj.weight', 'BF16', [7168, 14336]); // the release keeps eh_proj in BF16
  expectTensor('model.layers.61.shared_head.norm.weight', 'BF16', [7168]);
  expectTensor('model.layers.61.shared_head.head.weight', 'BF16', [129280, 7168]);
  expectTensor('model.layers.61.embed_tokens.weight', 'BF16', [129280, 7168]);
  assert.equal(byName.has('model.layers.62.enorm.weight'), false);
});

test('671B export: FP8 weight bytes add up to the ~671B main-model parameters; shards and index cover every tensor', () => {
  const fp8 = layout.filter((e) => e.dtype === 'F8_E4M3' && !e.name.startsWith('model.layers.61.')).reduce((s, e) => s + e.shape[0] * e.shape[1], 0);
  assert.equal(layout.filter((e) => /_proj(_with_mqa)?\.weight$/.test(e.name) && e.dtype === 'BF16').map((e) => e.name).join(), 'model.layers.61.eh_proj.weight', 'every 671B projection but eh_proj is FP8');
  // By default the one partial-block projection stays BF16, named for transformers.
  const whole = exportConfig(c671).quantization_config as { modules_to_not_convert: string[] };
  assert.equal(whole.modules_to_not_convert.length, 62);
  assert.ok(whole.modules_to_not_convert.every((m) => m.endsWith('.self_attn.kv_a_proj_with_mqa')));
  const bf16 = layout.filter((e) => e.dtype === 'BF16' && !e.name.startsWith('model.layers.61.')).reduce((s, e) => s + e.shape.reduce((a, b) => a * b, 1), 0);
  const gateBias = 58 * 256;
  const total = fp8 + bf16 + gateBias;
  assert.ok(total > 670e9 && total < 672e9, `main-model parameters ${total}`);
  const plan = shardPlan(layout);
  assert.equal(Object.keys(plan.index.weight_map).length, layout.length);
  assert.ok(plan.names.length > 100, `${plan.names.length} shards of ≤5 GiB`);
  assert.match(plan.names[0], /^model-00001-of-\d{5}\.safetensors$/);
  assert.deepEqual((exportConfig(c671, { fp8Blocks: 'release' }).quantization_config as object), { quant_method: 'fp8', fmt: 'e4m3', activation_scheme: 'dynamic', weight_block_size: [128, 128] });
});

function weightsOf(c: ReturnType<typeof modelConfig>): Map<string, Float32Array> {
  const P = buildParams(c, alloc32, new Rng(5));
  return new Map([...P.list().map((p) => [p.name, p.data as Float32Array] as const), ...[...P.buffers].map(([n, b]) => [n, b as Float32Array] as const)]);
}

test('small export round trip: dequantised FP8 blocks reproduce the weights within E4M3 precision', () => {
  // hidden 128 and 4 heads × v 32: o_proj is one whole 128×128 block, the shape FP8 export needs.
  const c = modelConfig('deepseek-v3-tiny', { ...microOverrides, hidden_size: 128, num_attention_heads: 4, v_head_dim: 32 });
  const weights = weightsOf(c);
  const files = exportFiles(c, weights);
  const index = JSON.parse(Buffer.from(files.get('model.safetensors.index.json')!).toString());
  const shard = parse(files.get(index.weight_map['model.layers.1.self_attn.o_proj.weight'])!);
  const q = shard.tensors.get('model.layers.1.self_attn.o_proj.weight')!;
  assert.equal(q.dtype, 'F8_E4M3');
  const s = asF32(shard.tensors.get('model.layers.1.self_attn.o_proj.weight_scale_inv')!);
  const w = weights.get('model.layers.1.self_attn.o_proj.weight')!;
  assert.equal(s.length, 1); // [128, 128] is one block
  let worst = 0;
  for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(decodeE4M3(q.data[i]) * s[0] - w[i]) / Math.max(Math.abs(w[i]), 1e-3));
  assert.ok(worst <= 0.0625 + 1e-6, `worst relative error ${worst} (E4M3 half-ulp is 1/16)`);
  assert.equal(shard.tensors.get('model.embed_tokens.weight')?.dtype ?? parse(files.get(index.weight_map['model.embed_tokens.weight'])!).tensors.get('model.embed_tokens.weight')!.dtype, 'BF16');
});

test('projections that are not whole 128×128 blocks stay BF16 and are named in modules_to_not_convert', () => {
  const c = modelConfig('deepseek-v3-tiny');
  const byName2 = new Map(exportLayout(c).map((e) => [e.name, e]));
  assert.equal(byName2.get('model.layers.1.self_attn.q_a_proj.weight')!.dtype, 'F8_E4M3'); // [128, 256]
  assert.equal(byName2.get('model.layers.1.self_attn.kv_a_proj_with_mqa.weight')!.dtype, 'BF16'); // [80, 256]
  assert.equal(byName2.get('model.layers.0.mlp.gate_proj.weight')!.dtype, 'BF16'); // [704, 256]
  assert.equal(byName2.has('model.layers.0.mlp.gate_proj.weight_scale_inv'), false);
  const q = exportConfig(c).quantization_config as { modules_to_not_convert: string[] };
  assert.ok(q.modules_to_not_convert.includes('model.layers.1.self_attn.kv_a_proj_with_mqa'));
  assert.ok(q.modules_to_not_convert.includes('model.layers.0.mlp.down_proj'));
  assert.ok(!q.modules_to_not_convert.includes('model.layers.1.self_attn.q_a_proj'));
});

test('config.json has the released fields, with transformers\' conventions', () => {
  const j = exportConfig(modelConfig('deepseek-v3-tiny', { q_lora_rank: 0 }), { maxPositions: 512 });
  assert.equal(j.q_lora_rank, null, 'no query compression is null, as released configs write it');
  assert.equal(j.num_key_value_heads, 4);
  assert.equal(j.max_position_embeddings, 512);
  assert.equal(j.hidden_act, 'silu');
  assert.equal(j.rope_scaling, null);
  assert.equal(j.bos_token_id, null, 'no BOS token in a byte vocabulary');
  assert.equal(j.model_type, 'deepseek_v3');
  assert.equal(exportConfig(c671).q_lora_rank, 1536);
});

test('the export carries the run tokenizer in HuggingFace format, with tokenizer_config.json (serving loads the folder on its own)', () => {
  const c = modelConfig('deepseek-v3-tiny', microOverrides);
  const weights = weightsOf(c);
  const tok = { kind: 'bpe', merges: [[104, 101], [256, 108]] };
  const files = exportFiles(c, weights, { tokenizer: tok });
  const hf = JSON.parse(Buffer.from(files.get('tokenizer.json')!).toString());
  assert.equal(hf.model.type, 'BPE');
  assert.deepEqual(hf.model.merges, [['h', 'e'], ['he', 'l']]);
  assert.deepEqual(Array.from(tokenizerFromJSON(hf).encode('help hel')), [257, 112, 32, 257]);
  const tc = JSON.parse(Buffer.from(files.get('tokenizer_config.json')!).toString());
  assert.equal(tc.tokenizer_class, 'PreTrainedTokenizerFast');
  assert.match(tc.chat_template, /add_generation_prompt/);
  assert.equal(exportFiles(c, weights).has('tokenizer.json'), false);
});
