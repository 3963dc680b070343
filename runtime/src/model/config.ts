// The runtime's model configuration: DeepSeek-V3 config.json field names. The architecture presets come from the
// planner (operator/plan/presets.ts, one source of truth); the runtime adds the fields only it needs (norm eps,
// RoPE base, init scale) with DeepSeek's values.
import type { ModelConfig } from '../../../operator/plan/types.js';
import { PRESETS, PRESET_NAMES } from '../../../operator/plan/presets.js';

export interface RuntimeModelConfig extends ModelConfig {
  rms_norm_eps: number;
  rope_theta: number;
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
  return c;
}

export function isMoeLayer(c: ModelConfig, layer: number): boolean {
  return layer >= c.first_k_dense_replace;
}
