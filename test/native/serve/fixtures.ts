// Small model configurations for the serving tests.
import type { RuntimeModelConfig } from '../../../runtime/src/model/config.js';

/** Byte vocabulary, every feature (q LoRA, dense first layer, grouped routing, shared expert, MTP weights), tiny. */
export const microServe: Partial<RuntimeModelConfig> = {
  vocab_size: 256, hidden_size: 32, intermediate_size: 40, moe_intermediate_size: 16, num_hidden_layers: 3, first_k_dense_replace: 1,
  num_attention_heads: 2, q_lora_rank: 16, kv_lora_rank: 16, qk_nope_head_dim: 8, qk_rope_head_dim: 4, v_head_dim: 8,
  n_routed_experts: 8, n_shared_experts: 1, num_experts_per_tok: 2, n_group: 4, topk_group: 2, num_nextn_predict_layers: 1,
};
