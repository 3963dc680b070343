// config.json as DeepSeek's release and HuggingFace transformers write it, both ways (pure).
// Export: every field of the released DeepSeek-V3 config, with the conventions transformers reads (`q_lora_rank: null`
// for no query compression, `num_key_value_heads` = heads, `rope_scaling: null` for plain RoPE). Import: the same
// fields, `rope_parameters` (transformers 5) or `rope_scaling` (older), and `q_lora_rank: null`. A field that would
// change the model's function in a way this runtime does not implement is refused by name, never ignored.
import { RUNTIME_DEFAULTS, validateConfig, type RuntimeModelConfig } from '../model/config.js';

const ARCH_KEYS = ['vocab_size', 'hidden_size', 'intermediate_size', 'moe_intermediate_size', 'num_hidden_layers', 'first_k_dense_replace', 'num_attention_heads', 'q_lora_rank', 'kv_lora_rank', 'qk_nope_head_dim', 'qk_rope_head_dim', 'v_head_dim', 'n_routed_experts', 'n_shared_experts', 'num_experts_per_tok', 'n_group', 'topk_group', 'routed_scaling_factor', 'num_nextn_predict_layers', 'rms_norm_eps', 'initializer_range'] as const;

/** DeepSeek-V3's pre-training context (REFERENCE.md §8: YaRN's original_max_position_embeddings). */
export const DEFAULT_MAX_POSITIONS = 4096;

export interface HfConfigOptions {
  /** The longest context the model is meant for (the training sequence length when it is known). */
  maxPositions?: number;
  bosTokenId?: number | null;
  eosTokenId?: number | null;
  quantization?: Record<string, unknown>;
}

/** The config.json of an export. */
export function toHfConfig(c: RuntimeModelConfig, o: HfConfigOptions = {}): Record<string, unknown> {
  const arch: Record<string, unknown> = {};
  for (const k of ARCH_KEYS) arch[k] = c[k];
  return {
    architectures: ['DeepseekV3ForCausalLM'],
    model_type: 'deepseek_v3',
    ...arch,
    q_lora_rank: c.q_lora_rank > 0 ? c.q_lora_rank : null,
    num_key_value_heads: c.num_attention_heads,
    hidden_act: 'silu',
    attention_bias: false,
    attention_dropout: 0.0,
    max_position_embeddings: o.maxPositions ?? DEFAULT_MAX_POSITIONS,
    rope_theta: c.rope_theta,
    rope_scaling: null,
    scoring_func: c.scoring_func,
    topk_method: c.topk_method,
    norm_topk_prob: c.norm_topk_prob,
    moe_layer_freq: 1,
    ep_size: 1,
    pretraining_tp: 1,
    tie_word_embeddings: false,
    bos_token_id: o.bosTokenId ?? null,
    eos_token_id: o.eosTokenId ?? null,
    use_cache: true,
    torch_dtype: 'bfloat16',
    ...(o.quantization ? { quantization_config: o.quantization } : {}),
  };
}

type Json = Record<string, unknown>;

/** Fields whose other values change the function: the value this runtime implements. */
const MUST_EQUAL: [string, unknown, string][] = [
  ['hidden_act', 'silu', 'SwiGLU with SiLU'],
  ['attention_bias', false, 'projections without bias'],
  ['tie_word_embeddings', false, 'a separate lm_head'],
  ['scoring_func', 'sigmoid', 'sigmoid gate scores'],
  ['topk_method', 'noaux_tc', 'auxiliary-loss-free top-k'],
  ['norm_topk_prob', true, 'normalised top-k weights'],
  ['moe_layer_freq', 1, 'every layer after first_k_dense_replace is MoE'],
  ['pretraining_tp', 1, 'no tensor-parallel slicing of the linears'],
];

/** The RuntimeModelConfig of a DeepSeek-V3 or transformers config.json, validated; errors name the field. */
export function fromHfConfig(j: Json, file: string): RuntimeModelConfig {
  const bad = (field: string, msg: string): never => {
    throw new Error(`${file}: ${field}: ${msg}`);
  };
  if (j.model_type !== undefined && j.model_type !== 'deepseek_v3') bad('model_type', `${JSON.stringify(j.model_type)} is not deepseek_v3`);
  for (const [k, want, what] of MUST_EQUAL) {
    if (j[k] !== undefined && j[k] !== null && j[k] !== want) bad(k, `${JSON.stringify(j[k])} is not implemented (this runtime implements ${JSON.stringify(want)}: ${what})`);
  }
  if (j.num_key_value_heads !== undefined && j.num_key_value_heads !== null && j.num_key_value_heads !== j.num_attention_heads) {
    bad('num_key_value_heads', `${String(j.num_key_value_heads)} differs from num_attention_heads (${String(j.num_attention_heads)}); MLA has one key and value per head`);
  }
  const picked: Record<string, unknown> = { ...RUNTIME_DEFAULTS };
  for (const k of ARCH_KEYS) if (j[k] !== undefined) picked[k] = j[k];
  if (j.q_lora_rank === null) picked.q_lora_rank = 0;
  picked.rope_theta = ropeOf(j, bad);
  try {
    return validateConfig(picked as unknown as RuntimeModelConfig);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

/** rope_theta, from `rope_parameters` (transformers 5) or the top level; a scaled RoPE is refused by its type. */
function ropeOf(j: Json, bad: (field: string, msg: string) => never): number {
  const params = j.rope_parameters as Json | undefined | null;
  const scaling = j.rope_scaling as Json | undefined | null;
  for (const [field, p] of [['rope_parameters', params], ['rope_scaling', scaling]] as const) {
    if (!p) continue;
    const type = p.rope_type ?? p.type ?? 'default';
    if (type !== 'default') bad(`${field}.rope_type`, `${JSON.stringify(type)} is not implemented (plain RoPE is); serving it as plain RoPE would put every position in the wrong place`);
  }
  const theta = params?.rope_theta ?? j.rope_theta ?? RUNTIME_DEFAULTS.rope_theta;
  if (typeof theta !== 'number' || !(theta > 0)) bad(params?.rope_theta !== undefined ? 'rope_parameters.rope_theta' : 'rope_theta', `must be a number > 0, got ${JSON.stringify(theta)}`);
  return theta as number;
}
