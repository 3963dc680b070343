// Model parallelism holds only what a rank uses: under PP2 × EP2 each rank allocates its stage's layers and its EP
// rank's half of the routed experts, never another rank's, and the optimizer moments of every parameter exist
// exactly once across the job. Expected counts come from the DeepSeek-V3 shapes of the fixture config, written out
// here rather than taken from the model code.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { collectivesAvailable } from '../../../runtime/src/comm/collectives-binding.js';
import { launch } from '../../../runtime/src/comm/local-launch.js';
import { ParamPlacement } from '../../../runtime/src/parallel/param-placement.js';
import { modelConfig } from '../../../runtime/src/model/config.js';
import type { ScheduleName } from '../../../operator/plan/schedule/ops.js';
import { workerScript } from './paths.js';
import { microOverrides } from './train-fixture.js';
import { assertHoldersAgree } from './holders.js';
import { need } from '../../util/need.js';

const skip = need(collectivesAvailable(), 'the Gloo collectives addon (runtime/collectives)', 'run `make native`') ? false : 'see the failing prerequisite test';
const c = microOverrides; // 2 layers: layer 0 dense, layer 1 MoE; one MTP module (MoE); 8 routed experts
const d = c.hidden_size, H = c.num_attention_heads, E = c.n_routed_experts;

// Element counts of the DeepSeek-V3 layout (MLA with a q LoRA, SwiGLU FFNs, one shared expert).
const attention = c.q_lora_rank * d + c.q_lora_rank + H * (c.qk_nope_head_dim + c.qk_rope_head_dim) * c.q_lora_rank
  + (c.kv_lora_rank + c.qk_rope_head_dim) * d + c.kv_lora_rank + H * (c.qk_nope_head_dim + c.v_head_dim) * c.kv_lora_rank
  + d * H * c.v_head_dim;
const norms = 2 * d;
const expert = 3 * d * c.moe_intermediate_size;
const denseLayer = norms + attention + 3 * d * c.intermediate_size;
/** An MoE layer with `experts` of its routed experts. */
const moeLayer = (experts: number): number => norms + attention + E * d + c.n_shared_experts * expert + experts * expert;
const embed = c.vocab_size * d;
/** Final norm + head + MTP (enorm, hnorm, eh_proj, an MoE layer, shared-head norm). */
const last = (experts: number): number => d + c.vocab_size * d + d + d + 2 * d * d + moeLayer(experts) + d;
const wholeModel = embed + denseLayer + moeLayer(E) + last(E);

/** What rank (pp, ep) of PP2 × EP2 holds, stage by stage (stage 0 = layer 0 + embedding, stage 1 = the rest). */
function expectedCount(stages: number[]): number {
  const half = E / 2;
  let n = embed; // stage 0 embeds; the last stage's MTP module reads the embedding too
  if (stages.includes(0)) n += denseLayer;
  if (stages.includes(1)) n += moeLayer(half) + last(half);
  return n;
}

interface Out { rank: number; sums: Record<string, number>; buffers: string[]; fullSum: number; losses: number[];
  bytes: { params: number; grads: number; buffers: number; count: number; moments: number; zeroBuffers: number } }

async function run(schedule: ScheduleName, microBatches: number): Promise<Out[]> {
  const { results } = await launch({
    script: workerScript(), worldSize: 4, args: ['pp-train'], killAfterMs: 120_000,
    env: {
      TEST_TRAIN: JSON.stringify({
        precision: 'fp32', steps: 2, batch: 8, layers: 2, schedule, microBatches, pp: 2, epSize: 2, ep: { dispatch: 'fp32', combine: 'fp32' },
      }),
    },
  });
  for (const r of results) assert.equal(r.code, 0, `rank ${r.rank} exited ${r.code} ${r.signal ?? ''}: ${r.stderr}`);
  return results.map((r) => JSON.parse(r.stdout.trim().split('\n').pop()!) as Out);
}

describe('placement (pure)', () => {
  const config = modelConfig('deepseek-v3-tiny', microOverrides);
  it('1F1B PP2 × EP2: stage layers, the embedding where stage 0 and MTP read it, the plan\'s expert halves', () => {
    const pl = new ParamPlacement(config, { schedule: '1F1B', pp: 2, ep: 2, dp: 1, microBatches: 2 });
    // plan order: rank = ep + 2·pp
    assert.deepEqual(pl.experts, [[0, 1, 2, 3], [4, 5, 6, 7]]);
    assert.deepEqual(pl.holders('model.embed_tokens.weight'), [0, 1, 2, 3]);
    assert.deepEqual(pl.holders('model.layers.0.self_attn.o_proj.weight'), [0, 1]);
    assert.deepEqual(pl.holders('model.layers.1.mlp.gate.weight'), [2, 3]);
    assert.deepEqual(pl.holders('model.layers.1.mlp.experts.5.up_proj.weight'), [3]);
    assert.deepEqual(pl.holders('model.layers.2.mlp.experts.0.up_proj.weight'), [2]);
    assert.deepEqual(pl.holders('lm_head.weight'), [2, 3]);
    assert.equal(pl.holds(0, 'lm_head.weight'), false);
  });
  it('DualPipe PP2: both stages on every pipeline rank; PP4 pairs stage r with 3−r', () => {
    const pl = new ParamPlacement(config, { schedule: 'DualPipe', pp: 2, ep: 2, dp: 1, microBatches: 4 });
    assert.deepEqual(pl.holders('model.layers.0.self_attn.o_proj.weight'), [0, 1, 2, 3]);
    assert.deepEqual(pl.holders('model.layers.1.mlp.experts.1.up_proj.weight'), [0, 2]);
    const four = new ParamPlacement(modelConfig('deepseek-v3-tiny', { ...microOverrides, num_hidden_layers: 4 }),
      { schedule: 'DualPipe', pp: 4, ep: 1, dp: 1, microBatches: 8 });
    assert.deepEqual(four.holders('model.layers.1.input_layernorm.weight'), [1, 2]);
    assert.deepEqual(four.holders('lm_head.weight'), [0, 3]);
  });
  it('refuses experts that do not divide over EP, naming the field', () => {
    assert.throws(() => new ParamPlacement(config, { schedule: '1F1B', pp: 1, ep: 3, dp: 1, microBatches: 1 }), /8 routed experts do not divide over EP=3.*parallelism.expert/);
  });
});

describe('per-rank parameters under PP2 × EP2', { skip }, () => {
  it('1F1B: each rank holds its stage and its half of the experts, nothing else; moments exist once', async () => {
    const outs = await run('1F1B', 2);
    let moments = 0;
    for (const o of outs) {
      const pp = o.rank >> 1, ep = o.rank & 1;
      const want = expectedCount([pp]);
      assert.equal(o.bytes.count, want, `rank ${o.rank}: ${o.bytes.count} parameters held, expected ${want}`);
      assert.equal(o.bytes.params, 4 * want);
      assert.equal(o.bytes.grads, 4 * want);
      // the expected counts themselves shrink: stage 0 lacks layer 1, the head and MTP; stage 1 lacks layer 0 and half the experts
      assert.ok(want <= wholeModel - (pp === 0 ? moeLayer(E) : denseLayer + 2 * (E / 2) * expert), `rank ${o.rank} holds ${want} of ${wholeModel}`);
      const held = new Set(Object.keys(o.sums));
      const other = ep === 0 ? 5 : 2, mine = ep === 0 ? 2 : 5;
      if (pp === 0) {
        assert.ok(!held.has('lm_head.weight') && !held.has('model.layers.1.self_attn.o_proj.weight'), `rank ${o.rank} holds stage 1`);
        assert.deepEqual(o.buffers, [], 'no router bias on the dense stage');
      } else {
        assert.ok(!held.has('model.layers.0.mlp.up_proj.weight'), `rank ${o.rank} holds stage 0`);
        assert.ok(held.has(`model.layers.1.mlp.experts.${mine}.up_proj.weight`));
        assert.ok(!held.has(`model.layers.1.mlp.experts.${other}.up_proj.weight`), `rank ${o.rank} holds expert ${other} of EP rank ${1 - ep}`);
        assert.ok(!held.has(`model.layers.2.mlp.experts.${other}.down_proj.weight`), `rank ${o.rank} holds MTP expert ${other}`);
        assert.deepEqual(o.buffers, ['model.layers.1.mlp.gate.e_score_correction_bias', 'model.layers.2.mlp.gate.e_score_correction_bias']);
      }
      moments += o.bytes.moments;
    }
    // BF16 m and v for every parameter element, each in exactly one rank's ZeRO-1 shard.
    assert.equal(moments, 2 * 2 * wholeModel);
    assertHoldersAgree(outs);
    process.stdout.write(`# 1F1B PP2×EP2: parameters per rank ${outs.map((o) => o.bytes.count).join(', ')} of ${wholeModel}\n`);
  });
  it('DualPipe: both stages per rank, half the experts', async () => {
    const outs = await run('DualPipe', 4);
    for (const o of outs) assert.equal(o.bytes.count, expectedCount([0, 1]), `rank ${o.rank}`);
    assertHoldersAgree(outs);
  });
});
