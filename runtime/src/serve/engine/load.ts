// Loading a model folder for serving: either a DeepSeek-layout export (config.json, model.safetensors.index.json,
// shards, tokenizer.json; FP8 E4M3 projections with 128×128 weight_scale_inv kept as codes for the FP8 GEMM and
// dequantised for the other precisions) or a run folder's latest checkpoint (float32 master weights), or a run folder
// whose servable model is the export rank 0 wrote into <run>/export (distributed runs: their checkpoints are shards).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadLatest } from '../../checkpoint/checkpoint-dirs.js';
import { asF32, asU16, parse, type TensorEntry } from '../../checkpoint/safetensors.js';
import { tokenizerFromJSON, type Tokenizer } from '../../data/tokenizer.js';
import { modelConfig, RUNTIME_DEFAULTS, validateConfig, type RuntimeModelConfig } from '../../model/config.js';
import { decodeE4M3, fromBf16 } from '../../model/fp8.js';
import { readWeights, STATE_FILE } from '../../train/state.js';
import type { TrainOptions } from '../../train/options.js';
import type { ModelWeights } from './weights.js';

export interface LoadedModel {
  kind: 'export' | 'run';
  config: RuntimeModelConfig;
  tokenizer: Tokenizer;
  weights: ModelWeights;
  /** The training sequence length, when known (run folders). */
  seqLen?: number;
}

const INDEX = 'model.safetensors.index.json';
const CONFIG_KEYS = ['vocab_size', 'hidden_size', 'intermediate_size', 'moe_intermediate_size', 'num_hidden_layers', 'first_k_dense_replace', 'num_attention_heads', 'q_lora_rank', 'kv_lora_rank', 'qk_nope_head_dim', 'qk_rope_head_dim', 'v_head_dim', 'n_routed_experts', 'n_shared_experts', 'num_experts_per_tok', 'n_group', 'topk_group', 'routed_scaling_factor', 'num_nextn_predict_layers', 'rms_norm_eps', 'rope_theta', 'initializer_range', 'scoring_func', 'topk_method', 'norm_topk_prob'] as const;

export function loadModelFolder(dir: string, warn: (m: string) => void = () => {}): LoadedModel {
  if (!existsSync(dir)) throw new Error(`model path ${dir} does not exist (MOE_MODEL_PATH: an export folder or a run folder)`);
  if (existsSync(path.join(dir, INDEX))) return loadExport(dir, warn);
  const ck = loadLatest(dir, warn);
  const exported = existsSync(path.join(dir, 'export', INDEX));
  // A distributed run's checkpoints are per-rank shards; its servable model is the export rank 0 wrote at the end.
  if (ck && ck.files.has(STATE_FILE)) return loadRun(dir, ck.files);
  if (exported) return loadExport(path.join(dir, 'export'), warn);
  if (ck) throw new Error(`${ck.dir} is a sharded (distributed) checkpoint without ${STATE_FILE}, and ${dir}/export (written when distributed training ends) is missing; serve an export (moe-runtime export, or the run's export folder)`);
  throw new Error(`model path ${dir} holds neither an export (${INDEX}) nor a run's checkpoints (checkpoints/step-*) nor export/${INDEX}`);
}

function readJson(file: string): unknown {
  if (!existsSync(file)) throw new Error(`${file} is missing`);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/** The RuntimeModelConfig fields of a DeepSeek config.json (other keys ignored), validated. */
export function configFromJson(j: Record<string, unknown>, file: string, warn: (m: string) => void): RuntimeModelConfig {
  if (j.scoring_func !== undefined && j.scoring_func !== 'sigmoid') throw new Error(`${file}: scoring_func ${String(j.scoring_func)} is not supported (sigmoid only)`);
  if (j.topk_method !== undefined && j.topk_method !== 'noaux_tc') throw new Error(`${file}: topk_method ${String(j.topk_method)} is not supported (noaux_tc only)`);
  if (j.rope_scaling) warn(`${file}: rope_scaling (YaRN) is ignored; positions beyond the trained length may degrade`);
  const picked: Record<string, unknown> = { ...RUNTIME_DEFAULTS };
  for (const k of CONFIG_KEYS) if (j[k] !== undefined) picked[k] = j[k];
  try {
    return validateConfig(picked as unknown as RuntimeModelConfig);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

const E4M3 = Float32Array.from({ length: 256 }, (_, c) => decodeE4M3(c));

function dequantBlocks(q: Uint8Array, scaleInv: Float32Array, rows: number, cols: number): Float32Array {
  const bc = Math.ceil(cols / 128);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const so = Math.floor(r / 128) * bc;
    for (let c = 0; c < cols; c++) out[r * cols + c] = E4M3[q[r * cols + c]] * scaleInv[so + Math.floor(c / 128)];
  }
  return out;
}

function loadExport(dir: string, warn: (m: string) => void): LoadedModel {
  const cfgFile = path.join(dir, 'config.json');
  const config = configFromJson(readJson(cfgFile) as Record<string, unknown>, cfgFile, warn);
  const tokFile = path.join(dir, 'tokenizer.json');
  if (!existsSync(tokFile)) throw new Error(`${tokFile} is missing: the export must carry the tokenizer it was trained with (re-export with this version of moe-runtime export)`);
  const tokenizer = tokenizerFromJSON(readJson(tokFile));
  const index = readJson(path.join(dir, INDEX)) as { weight_map?: Record<string, string> };
  if (!index.weight_map || typeof index.weight_map !== 'object') throw new Error(`${path.join(dir, INDEX)}: weight_map is missing`);
  const tensors = new Map<string, TensorEntry>();
  for (const shard of new Set(Object.values(index.weight_map))) {
    const file = path.join(dir, shard);
    if (!existsSync(file)) throw new Error(`${file} (listed in ${INDEX}) is missing`);
    for (const [name, t] of parse(readFileSync(file), file).tensors) tensors.set(name, t);
  }
  const weights: ModelWeights = { f32: new Map(), fp8: new Map() };
  for (const [name, t] of tensors) {
    if (name.endsWith('_scale_inv')) continue;
    // The MTP layers are not used for serving.
    const m = /^model\.layers\.(\d+)\./.exec(name);
    if (m && Number(m[1]) >= config.num_hidden_layers) continue;
    if (t.dtype === 'F32') weights.f32.set(name, asF32(t));
    else if (t.dtype === 'BF16') weights.f32.set(name, Float32Array.from(asU16(t), fromBf16));
    else if (t.dtype === 'F8_E4M3') {
      const s = tensors.get(`${name}_scale_inv`);
      if (!s) throw new Error(`${dir}: FP8 tensor ${name} has no ${name}_scale_inv`);
      const [rows, cols] = t.shape;
      const scaleInv = asF32(s);
      if (t.shape.length !== 2 || scaleInv.length !== Math.ceil(rows / 128) * Math.ceil(cols / 128)) throw new Error(`${dir}: ${name}_scale_inv has ${scaleInv.length} blocks, ${name} ${JSON.stringify(t.shape)} needs 128×128 blocks`);
      const q = Uint8Array.from(t.data);
      weights.fp8.set(name, { q, scaleInv, rows, cols });
      weights.f32.set(name, dequantBlocks(q, scaleInv, rows, cols));
    } else throw new Error(`${dir}: tensor ${name} has dtype ${t.dtype}; an export holds F8_E4M3, BF16 and F32`);
  }
  return { kind: 'export', config, tokenizer, weights };
}

function loadRun(dir: string, files: Map<string, Uint8Array>): LoadedModel {
  const need = (n: string): Uint8Array => {
    const f = files.get(n);
    if (!f) throw new Error(`${dir}: the latest checkpoint lacks ${n}`);
    return f;
  };
  const opts = JSON.parse(Buffer.from(need('train.json')).toString()) as TrainOptions;
  const config = modelConfig(opts.preset, opts.overrides);
  const tokenizer = tokenizerFromJSON(JSON.parse(Buffer.from(need('tokenizer.json')).toString()));
  const f32 = readWeights(need(STATE_FILE));
  return { kind: 'run', config, tokenizer, weights: { f32, fp8: new Map() }, seqLen: opts.seqLen };
}
