// Named model architectures. deepseek-v3-671b is the full configuration (REFERENCE.md §1); deepseek-v3-tiny has the
// same shape (MLA, dense-then-MoE layers, grouped routing, MTP) at a size that trains on one machine.
import type { ModelConfig } from './types.js';

export const PRESETS: Record<string, ModelConfig> = {
  'deepseek-v3-671b': {
    vocab_size: 129280,
    hidden_size: 7168,
    intermediate_size: 18432,
    moe_intermediate_size: 2048,
    num_hidden_layers: 61,
    first_k_dense_replace: 3,
    num_attention_heads: 128,
    q_lora_rank: 1536,
    kv_lora_rank: 512,
    qk_nope_head_dim: 128,
    qk_rope_head_dim: 64,
    v_head_dim: 128,
    n_routed_experts: 256,
    n_shared_experts: 1,
    num_experts_per_tok: 8,
    n_group: 8,
    topk_group: 4,
    routed_scaling_factor: 2.5,
    num_nextn_predict_layers: 1,
  },
  'deepseek-v3-tiny': {
    vocab_size: 2048,
    hidden_size: 256,
    intermediate_size: 704,
    moe_intermediate_size: 128,
    num_hidden_layers: 4,
    first_k_dense_replace: 1,
    num_attention_heads: 4,
    q_lora_rank: 128,
    kv_lora_rank: 64,
    qk_nope_head_dim: 32,
    qk_rope_head_dim: 16,
    v_head_dim: 32,
    n_routed_experts: 16,
    n_shared_experts: 1,
    num_experts_per_tok: 4,
    n_group: 4,
    topk_group: 2,
    routed_scaling_factor: 2.5,
    num_nextn_predict_layers: 1,
  },
};

export const PRESET_NAMES = Object.keys(PRESETS);

/** Defaults for explicit configs, as in the CRD schema. */
export const CONFIG_DEFAULTS: Partial<ModelConfig> = {
  intermediate_size: 18432,
  first_k_dense_replace: 0,
  q_lora_rank: 0,
  kv_lora_rank: 512,
  qk_nope_head_dim: 128,
  qk_rope_head_dim: 64,
  v_head_dim: 128,
  n_shared_experts: 1,
  n_group: 1,
  topk_group: 1,
  routed_scaling_factor: 1,
  num_nextn_predict_layers: 0,
};
