// Loading a model folder for serving: either a DeepSeek-layout export or a folder transformers' save_pretrained wrote
// (config.json, tokenizer.json, and model.safetensors.index.json with its shards or one model.safetensors; FP8 E4M3
// projections with 128×128 weight_scale_inv kept as codes for the FP8 GEMM and dequantised for the other precisions) or a run folder's latest checkpoint (float32 master weights), or a run folder
// whose servable model is the export rank 0 wrote into <run>/export (distributed runs: their checkpoints are shards),
// or one checkpoint folder (<run>/checkpoints/step-N: that step's weights, as an evaluation of a given step needs).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadLatest, readVerified } from '../../checkpoint/checkpoint-dirs.js';
import { asF32, asU16, parse, type TensorEntry } from '../../checkpoint/safetensors.js';
import { tokenizerFromJSON, type Tokenizer } from '../../data/tokenizer.js';
import { fromHfConfig } from '../../checkpoint/hf-config.js';
import { modelConfig, type RuntimeModelConfig } from '../../model/config.js';
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
/** What save_pretrained writes when the model fits one shard: no index. */
const SINGLE = 'model.safetensors';

function isModelFolder(dir: string): boolean {
  return existsSync(path.join(dir, 'config.json')) && (existsSync(path.join(dir, INDEX)) || existsSync(path.join(dir, SINGLE)));
}

export function loadModelFolder(dir: string, warn: (m: string) => void = () => {}): LoadedModel {
  if (!existsSync(dir)) throw new Error(`model path ${dir} does not exist (MOE_MODEL_PATH: an export folder or a run folder)`);
  if (isModelFolder(dir)) return loadExport(dir);
  if (existsSync(path.join(dir, 'manifest.json'))) {
    const one = readVerified(dir);
    if (one.files.has(STATE_FILE)) return loadRun(dir, one.files);
    throw new Error(`${dir} is a sharded (distributed) checkpoint without ${STATE_FILE}; serve the run's export (moe-runtime export, or <run>/export)`);
  }
  const ck = loadLatest(dir, warn);
  const exported = isModelFolder(path.join(dir, 'export'));
  // A distributed run's checkpoints are per-rank shards; its servable model is the export rank 0 wrote at the end.
  if (ck && ck.files.has(STATE_FILE)) return loadRun(dir, ck.files);
  if (exported) return loadExport(path.join(dir, 'export'));
  if (ck) throw new Error(`${ck.dir} is a sharded (distributed) checkpoint without ${STATE_FILE}, and ${dir}/export (written when distributed training ends) is missing; serve an export (moe-runtime export, or the run's export folder)`);
  throw new Error(`model path ${dir} holds neither a model folder (config.json with ${INDEX} or ${SINGLE}) nor a run's checkpoints (checkpoints/step-*) nor an export/ folder`);
}

function readJson(file: string): unknown {
  if (!existsSync(file)) throw new Error(`${file} is missing`);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file} is not valid JSON: ${(e as Error).message}`);
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

/** Shard files of a model folder: the index's, or the single model.safetensors. */
function shardFiles(dir: string): string[] {
  if (!existsSync(path.join(dir, INDEX))) return [SINGLE];
  const index = readJson(path.join(dir, INDEX)) as { weight_map?: Record<string, string> };
  if (!index.weight_map || typeof index.weight_map !== 'object') throw new Error(`${path.join(dir, INDEX)}: weight_map is missing`);
  return [...new Set(Object.values(index.weight_map))];
}

function loadExport(dir: string): LoadedModel {
  const cfgFile = path.join(dir, 'config.json');
  const config = fromHfConfig(readJson(cfgFile) as Record<string, unknown>, cfgFile);
  const tokFile = path.join(dir, 'tokenizer.json');
  if (!existsSync(tokFile)) throw new Error(`${tokFile} is missing: the export must carry the tokenizer it was trained with (re-export with this version of moe-runtime export)`);
  const tokenizer = tokenizerFromJSON(readJson(tokFile));
  const tensors = new Map<string, TensorEntry>();
  for (const shard of shardFiles(dir)) {
    const file = path.join(dir, shard);
    if (!existsSync(file)) throw new Error(shard === SINGLE ? `${file} is missing` : `${file} (listed in ${INDEX}) is missing`);
    for (const [name, t] of parse(readFileSync(file), file).tensors) tensors.set(name, t);
  }
  const weights: ModelWeights = { f32: new Map(), fp8: new Map() };
  for (const [name, t] of tensors) {
    if (name.endsWith('_scale_inv')) continue;
    // The first MTP module (layer num_hidden_layers) drafts for speculative decoding; deeper ones are not used.
    const m = /^model\.layers\.(\d+)\./.exec(name);
    if (m && Number(m[1]) > config.num_hidden_layers) continue;
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
    } else throw new Error(`${dir}: tensor ${name} has dtype ${t.dtype}; this runtime loads F8_E4M3 (with 128×128 scale_inv), BF16 and F32`);
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
