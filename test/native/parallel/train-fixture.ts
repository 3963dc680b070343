// The small training run the distributed tests share: every feature of the model (MLA, MoE with groups, MTP),
// small enough that a few steps take a second.
import { defaultTrainOptions, type TrainOptions } from '../../../runtime/src/train/options.js';
import type { Precision } from '../../../runtime/src/model/precision.js';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { syntheticCorpus } from '../../../runtime/src/data/grammar.js';

export const microOverrides = {
  vocab_size: 256, hidden_size: 16, intermediate_size: 24, moe_intermediate_size: 8, num_hidden_layers: 2,
  first_k_dense_replace: 1, num_attention_heads: 2, q_lora_rank: 8, kv_lora_rank: 8, qk_nope_head_dim: 4,
  qk_rope_head_dim: 4, v_head_dim: 4, n_routed_experts: 8, n_shared_experts: 1, num_experts_per_tok: 2, n_group: 4,
  topk_group: 2, num_nextn_predict_layers: 1,
};

export function fixtureOptions(precision: Precision, steps: number, batch = 4, layers = 2): TrainOptions {
  return defaultTrainOptions({
    precision, steps, batch, seqLen: 8, overrides: { ...microOverrides, num_hidden_layers: layers }, checkpointEvery: 0,
  });
}

export function fixtureTokens(): Int32Array {
  return byteTokenizer.encode(syntheticCorpus(3, 6000));
}
