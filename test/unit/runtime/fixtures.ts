// Shared small configurations for runtime tests.
import type { RuntimeModelConfig } from '../../../runtime/src/model/config.js';

/** A byte-vocabulary model with every feature, small enough to train a few steps in a unit test. */
export const microOverrides: Partial<RuntimeModelConfig> = {
  vocab_size: 256,
  hidden_size: 16,
  intermediate_size: 24,
  moe_intermediate_size: 8,
  num_hidden_layers: 2,
  first_k_dense_replace: 1,
  num_attention_heads: 2,
  q_lora_rank: 8,
  kv_lora_rank: 8,
  qk_nope_head_dim: 4,
  qk_rope_head_dim: 4,
  v_head_dim: 4,
  n_routed_experts: 8,
  n_shared_experts: 1,
  num_experts_per_tok: 2,
  n_group: 4,
  topk_group: 2,
  num_nextn_predict_layers: 1,
};
