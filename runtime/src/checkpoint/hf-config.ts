// config.json as DeepSeek's release and HuggingFace transformers write it, both ways (pure).
// Export: every field of the released DeepSeek-V3 config, with the conventions transformers reads (`q_lora_rank: null`
// for no query compression, `num_key_value_heads` = heads, `rope_scaling` as released: null for plain RoPE, YaRN's
// fields otherwise). Import: the same fields, `rope_parameters` (transformers 5) or `rope_scaling` (older; default or
// yarn), and `q_lora_rank: null`. A field that would change the model's function in a way this runtime does not
// implement is refused by name, never ignored.
import { RUNTIME_DEFAULTS, validateConfig, type RuntimeModelConfig, type YarnScaling } from '../model/config.js';

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
    rope_scaling: c.rope_scaling ? yarnJson(c.rope_scaling) : null,
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

/** rope_scaling as the release writes it (absent optional fields left out). */
function yarnJson(y: YarnScaling): Json {
  return {
    type: 'yarn', factor: y.factor, original_max_position_embeddings: y.original_max_position_embeddings, beta_fast: y.beta_fast, beta_slow: y.beta_slow,
    ...(y.mscale ? { mscale: y.mscale } : {}), ...(y.mscale_all_dim ? { mscale_all_dim: y.mscale_all_dim } : {}),
    ...(y.truncate ? {} : { truncate: false }), ...(y.attention_factor !== undefined ? { attention_factor: y.attention_factor } : {}),
  };
}

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
  const rope = ropeOf(j, bad);
  picked.rope_theta = rope.theta;
  if (rope.yarn) picked.rope_scaling = rope.yarn;
  try {
    return validateConfig(picked as unknown as RuntimeModelConfig);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

/** rope_theta and YaRN, from `rope_parameters` (transformers 5) or `rope_scaling` and the top level (older). */
function ropeOf(j: Json, bad: (field: string, msg: string) => never): { theta: number; yarn?: YarnScaling } {
  const field = j.rope_parameters ? 'rope_parameters' : 'rope_scaling';
  const p = (j.rope_parameters ?? j.rope_scaling ?? undefined) as Json | undefined;
  const theta = p?.rope_theta ?? j.rope_theta ?? RUNTIME_DEFAULTS.rope_theta;
  if (typeof theta !== 'number' || !(theta > 0)) bad(p?.rope_theta !== undefined ? `${field}.rope_theta` : 'rope_theta', `must be a number > 0, got ${JSON.stringify(theta)}`);
  const type = p?.rope_type ?? p?.type ?? 'default';
  if (type === 'default') return { theta: theta as number };
  if (type !== 'yarn') bad(`${field}.rope_type`, `${JSON.stringify(type)} is not implemented (default and yarn are); serving it as another RoPE would put every position in the wrong place`);
  const num = (k: string, fallback?: number): number => {
    const v = p![k] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) bad(`${field}.${k}`, `must be a number, got ${JSON.stringify(p![k])}`);
    return v as number;
  };
  const original = num('original_max_position_embeddings');
  // transformers derives a missing factor from the context lengths, and reads beta 0 as its default.
  const factor = p!.factor ?? (typeof j.max_position_embeddings === 'number' ? j.max_position_embeddings / original : undefined);
  if (typeof factor !== 'number') bad(`${field}.factor`, 'is missing, and max_position_embeddings does not give it');
  const yarn: YarnScaling = {
    type: 'yarn', factor: factor as number, original_max_position_embeddings: original,
    beta_fast: num('beta_fast', 32) || 32, beta_slow: num('beta_slow', 1) || 1,
    mscale: num('mscale', 0), mscale_all_dim: num('mscale_all_dim', 0), truncate: p!.truncate !== false,
  };
  if (p!.attention_factor !== undefined && p!.attention_factor !== null) yarn.attention_factor = num('attention_factor');
  return { theta: theta as number, yarn };
}
