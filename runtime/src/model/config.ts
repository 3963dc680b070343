// The runtime's model configuration: DeepSeek-V3 config.json field names. The architecture presets come from the
// planner (operator/plan/presets.ts, one source of truth); the runtime adds the fields only it needs (norm eps,
// RoPE base, init scale) with DeepSeek's values.
import type { ModelConfig } from '../../../operator/plan/types.js';
import { PRESETS, PRESET_NAMES } from '../../../operator/plan/presets.js';

/** YaRN (HuggingFace rope_parameters / rope_scaling of type yarn; REFERENCE.md §8). */
export interface YarnScaling {
  type: 'yarn';
  factor: number;
  original_max_position_embeddings: number;
  beta_fast: number;
  beta_slow: number;
  /** 0 when absent (HuggingFace then scales the rotated values by the factor's plain correction). */
  mscale: number;
  /** 0 when absent: the softmax scale is left alone (HuggingFace's default); the release sets 1. */
  mscale_all_dim: number;
  /** HuggingFace's explicit factor on the rotated values, when the config gives one. */
  attention_factor?: number;
  /** Round the correction range outwards to whole dimensions (DeepSeek's reference; HuggingFace's default). */
  truncate: boolean;
}

export interface RuntimeModelConfig extends ModelConfig {
  rms_norm_eps: number;
  rope_theta: number;
  /** Absent: plain RoPE. */
  rope_scaling?: YarnScaling;
  /** Std of the normal init of every matrix (HF config `initializer_range`). */
  initializer_range: number;
  scoring_func: 'sigmoid';
  topk_method: 'noaux_tc';
  norm_topk_prob: boolean;
}

export const RUNTIME_DEFAULTS = {
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  initializer_range: 0.02,
  scoring_func: 'sigmoid',
  topk_method: 'noaux_tc',
  norm_topk_prob: true,
} as const;

/** A preset by name with optional overrides (e.g. a smaller vocab for the byte tokenizer), validated. */
export function modelConfig(preset: string, overrides: Partial<RuntimeModelConfig> = {}): RuntimeModelConfig {
  const base = PRESETS[preset];
  if (!base) throw new Error(`model preset ${JSON.stringify(preset)} is unknown; use one of ${PRESET_NAMES.join(', ')}`);
  return validateConfig({ ...RUNTIME_DEFAULTS, ...base, ...overrides });
}

const POSITIVE: (keyof ModelConfig)[] = ['vocab_size', 'hidden_size', 'intermediate_size', 'moe_intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'kv_lora_rank', 'qk_nope_head_dim', 'qk_rope_head_dim', 'v_head_dim', 'n_routed_experts', 'num_experts_per_tok', 'n_group', 'topk_group'];

/** Checks the fields the model code relies on; errors name the field and the fix. */
export function validateConfig(c: RuntimeModelConfig): RuntimeModelConfig {
  for (const k of POSITIVE) {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new Error(`model config: ${k} must be a positive integer, got ${String(v)}`);
  }
  for (const k of ['q_lora_rank', 'first_k_dense_replace', 'n_shared_experts', 'num_nextn_predict_layers'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 0) throw new Error(`model config: ${k} must be an integer >= 0, got ${String(c[k])}`);
  }
  if (c.qk_rope_head_dim % 2 !== 0) throw new Error(`model config: qk_rope_head_dim must be even (RoPE rotates pairs), got ${c.qk_rope_head_dim}`);
  if (c.n_routed_experts % c.n_group !== 0) throw new Error(`model config: n_routed_experts (${c.n_routed_experts}) must be a multiple of n_group (${c.n_group})`);
  if (c.topk_group > c.n_group) throw new Error(`model config: topk_group (${c.topk_group}) must be <= n_group (${c.n_group})`);
  const perGroup = c.n_routed_experts / c.n_group;
  if (c.num_experts_per_tok > c.topk_group * perGroup) {
    throw new Error(`model config: num_experts_per_tok (${c.num_experts_per_tok}) exceeds the experts in topk_group groups (${c.topk_group * perGroup})`);
  }
  if (!(c.rms_norm_eps > 0) || !(c.rope_theta > 0) || !(c.initializer_range > 0)) throw new Error('model config: rms_norm_eps, rope_theta and initializer_range must be > 0');
  const y = c.rope_scaling;
  if (y) {
    if (!(y.factor >= 1)) throw new Error(`model config: rope_scaling.factor must be >= 1, got ${String(y.factor)}`);
    if (!Number.isInteger(y.original_max_position_embeddings) || y.original_max_position_embeddings < 1) throw new Error(`model config: rope_scaling.original_max_position_embeddings must be a positive integer, got ${String(y.original_max_position_embeddings)}`);
    for (const k of ['beta_fast', 'beta_slow'] as const) if (!(y[k] > 0)) throw new Error(`model config: rope_scaling.${k} must be > 0, got ${String(y[k])}`);
    for (const k of ['mscale', 'mscale_all_dim'] as const) if (!(y[k] >= 0)) throw new Error(`model config: rope_scaling.${k} must be >= 0, got ${String(y[k])}`);
    if (y.attention_factor !== undefined && !(y.attention_factor > 0)) throw new Error(`model config: rope_scaling.attention_factor must be > 0, got ${String(y.attention_factor)}`);
  }
  return c;
}

export function isMoeLayer(c: ModelConfig, layer: number): boolean {
  return layer >= c.first_k_dense_replace;
}
