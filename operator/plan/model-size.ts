// Parameter counts of a DeepSeek-V3-style model (MLA attention, dense then MoE FFNs, MTP) and the per-layer pieces the
// stage split, the memory model and the traffic model use. Counts are exact element counts of the released weights
// (norms included, FP8 scale tensors excluded).
import type { FieldError, ModelConfig } from './types.js';
import { CONFIG_DEFAULTS, PRESETS, PRESET_NAMES } from './presets.js';

export interface LayerParams {
  attention: number;
  norms: number;
  denseFfn: number;
  /** Router weight + bias. */
  gate: number;
  routedExpert: number;
  sharedExperts: number;
}

export function layerParams(m: ModelConfig): LayerParams {
  const d = m.hidden_size;
  const H = m.num_attention_heads;
  const qk = m.qk_nope_head_dim + m.qk_rope_head_dim;
  const q = m.q_lora_rank > 0 ? d * m.q_lora_rank + m.q_lora_rank + m.q_lora_rank * H * qk : d * H * qk;
  const kv = d * (m.kv_lora_rank + m.qk_rope_head_dim) + m.kv_lora_rank + m.kv_lora_rank * H * (m.qk_nope_head_dim + m.v_head_dim);
  const o = H * m.v_head_dim * d;
  const expert = 3 * d * m.moe_intermediate_size;
  return {
    attention: q + kv + o,
    norms: 2 * d,
    denseFfn: 3 * d * m.intermediate_size,
    gate: m.n_routed_experts * d + m.n_routed_experts,
    routedExpert: expert,
    sharedExperts: m.n_shared_experts * expert,
  };
}

export function isMoeLayer(m: ModelConfig, layer: number): boolean {
  return layer >= m.first_k_dense_replace;
}

/** Parameters of one transformer layer; `expertsHeld` routed experts (all of them by default). */
export function blockParams(m: ModelConfig, layer: number, expertsHeld = m.n_routed_experts): number {
  const p = layerParams(m);
  if (!isMoeLayer(m, layer)) return p.attention + p.norms + p.denseFfn;
  return p.attention + p.norms + p.gate + p.sharedExperts + expertsHeld * p.routedExpert;
}

export interface ParamCount {
  /** Main model (what "671B" counts). */
  total: number;
  /** Activated per token in the main model (what "37B" counts). */
  active: number;
  /** The MTP modules (shared embedding/head not counted again). */
  mtp: number;
  embedding: number;
  head: number;
}

export function countParams(m: ModelConfig): ParamCount {
  const embedding = m.vocab_size * m.hidden_size;
  const head = m.vocab_size * m.hidden_size + m.hidden_size; // lm_head + final norm
  let total = embedding + head;
  let active = embedding + head;
  for (let l = 0; l < m.num_hidden_layers; l++) {
    total += blockParams(m, l);
    active += blockParams(m, l, isMoeLayer(m, l) ? m.num_experts_per_tok : 0);
  }
  const d = m.hidden_size;
  const mtpBlock = blockParams(m, m.num_hidden_layers) + 2 * d + 2 * d * d + d; // enorm, hnorm, eh_proj, shared_head norm
  return { total, active, mtp: m.num_nextn_predict_layers * mtpBlock, embedding, head };
}

const REQUIRED: (keyof ModelConfig)[] = ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'n_routed_experts', 'num_experts_per_tok', 'moe_intermediate_size'];

/** Resolves spec.model ({preset} or {config}) into a full config, or field errors naming what to fix. */
export function resolveModel(spec: unknown, field = 'spec.model'): { ok: true; model: ModelConfig; preset?: string } | { ok: false; errors: FieldError[] } {
  const s = (spec ?? {}) as { preset?: unknown; config?: unknown };
  if (typeof s !== 'object' || Array.isArray(s)) return { ok: false, errors: [{ field, message: 'must be an object with either preset or config' }] };
  if (s.preset !== undefined && s.config !== undefined) return { ok: false, errors: [{ field, message: 'set exactly one of model.preset or model.config, not both' }] };
  if (s.preset !== undefined) {
    const model = typeof s.preset === 'string' ? PRESETS[s.preset] : undefined;
    if (!model) return { ok: false, errors: [{ field: `${field}.preset`, message: `unknown preset ${JSON.stringify(s.preset)}; use one of ${PRESET_NAMES.join(', ')} or give model.config` }] };
    return { ok: true, model: { ...model }, preset: s.preset as string };
  }
  if (s.config === undefined || typeof s.config !== 'object' || s.config === null) {
    return { ok: false, errors: [{ field, message: `set model.preset (${PRESET_NAMES.join(', ')}) or model.config with DeepSeek-V3 config.json fields` }] };
  }
  const c = { ...CONFIG_DEFAULTS, ...(s.config as Record<string, unknown>) } as Record<string, unknown>;
  const errors: FieldError[] = [];
  const cf = `${field}.config`;
  for (const k of REQUIRED) if (c[k] === undefined) errors.push({ field: `${cf}.${k}`, message: `is required (see DeepSeek-V3 config.json)` });
  for (const [k, v] of Object.entries(c)) {
    if (v === undefined) continue;
    const isFloat = k === 'routed_scaling_factor' || k === 'rms_norm_eps';
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!isFloat && !Number.isInteger(v))) {
      errors.push({ field: `${cf}.${k}`, message: `must be a ${isFloat ? 'number' : 'whole number'} ≥ 0, got ${JSON.stringify(v)}` });
    }
  }
  if (errors.length) return { ok: false, errors };
  const m = c as unknown as ModelConfig;
  for (const k of REQUIRED) if (m[k] < 1) errors.push({ field: `${cf}.${k}`, message: `must be ≥ 1, got ${m[k]}` });
  if (m.num_experts_per_tok > m.n_routed_experts) errors.push({ field: `${cf}.num_experts_per_tok`, message: `(${m.num_experts_per_tok}) must not exceed n_routed_experts (${m.n_routed_experts})` });
  if (m.n_group < 1 || m.n_routed_experts % m.n_group !== 0) errors.push({ field: `${cf}.n_group`, message: `n_routed_experts (${m.n_routed_experts}) must be divisible by n_group (${m.n_group}): groups are equal runs of experts` });
  if (m.topk_group < 1 || m.topk_group > m.n_group) errors.push({ field: `${cf}.topk_group`, message: `must be between 1 and n_group (${m.n_group}), got ${m.topk_group}` });
  if (m.topk_group >= 1 && m.n_group >= 1 && m.n_routed_experts % m.n_group === 0 && m.num_experts_per_tok > m.topk_group * (m.n_routed_experts / m.n_group)) {
    errors.push({ field: `${cf}.num_experts_per_tok`, message: `(${m.num_experts_per_tok}) exceeds the experts of topk_group groups (${m.topk_group * (m.n_routed_experts / m.n_group)}); raise topk_group or lower num_experts_per_tok` });
  }
  if (m.first_k_dense_replace > m.num_hidden_layers) errors.push({ field: `${cf}.first_k_dense_replace`, message: `(${m.first_k_dense_replace}) must not exceed num_hidden_layers (${m.num_hidden_layers})` });
  if (errors.length) return { ok: false, errors };
  const out: ModelConfig = {} as ModelConfig;
  for (const k of Object.keys(PRESETS['deepseek-v3-tiny']!) as (keyof ModelConfig)[]) out[k] = m[k];
  return { ok: true, model: out };
}
