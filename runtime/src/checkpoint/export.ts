// Inference export in DeepSeek's released layout (REFERENCE.md §2), readable as it is by HuggingFace transformers:
// projection weights as F8_E4M3 with a float32 `<name>_scale_inv` per 128×128 block; embedding, lm_head, norms, the
// gate and the MTP eh_proj in BF16, as the release keeps them; the routers' e_score_correction_bias in F32; the MTP
// layer (index = num_hidden_layers) carries its own copies of the embedding and head as the release does.
// Partial blocks: a projection whose sides are not both multiples of 128 (the release's kv_a_proj_with_mqa has 576 rows;
// small models have many) either stays BF16 and is named in quantization_config.modules_to_not_convert (`whole`, the
// default: transformers derives the block size from rows ÷ scale rows and refuses a partial block, and DeepSeek's
// fp8_cast_bf16 passes BF16 tensors through), or is FP8 with a rounded-up scale grid (`release`: exactly the released
// layout, which DeepSeek's FP8 inference expects). config.json is the released one (hf-config.ts); tokenizer.json is in
// HuggingFace's format with a tokenizer_config.json carrying the chat template, so AutoTokenizer loads the folder.
// exportLayout() is pure and needs no weights, so the 671B layout can be checked without them.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RuntimeModelConfig } from '../model/config.js';
import { isMoeLayer } from '../model/config.js';
import { toHfTokenizerJSON } from '../data/hf-tokenizer.js';
import { tokenizerFromJSON } from '../data/tokenizer.js';
import { CHAT_TEMPLATE_JINJA } from '../data/chat-template.js';
import { DEFAULT_MAX_POSITIONS, toHfConfig } from './hf-config.js';
import { mtpPrefix } from '../model/transformer.js';
import { quantizeBlocks, toBf16 } from '../model/fp8.js';
import { DTYPE_BYTES, type Dtype, type TensorEntry, bytesOf, serialize } from './safetensors.js';

export const WEIGHT_BLOCK = 128;

export interface LayoutEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** The trained parameter (or buffer) this tensor comes from; a `_scale_inv` names its weight's source. */
  source: string;
}

/** How projections with a partial 128×128 block are written (see the top of this file). */
export type Fp8Blocks = 'whole' | 'release';

/** FP8 where the release has it: the attention and FFN projections (not the MTP eh_proj). */
function isFp8(name: string, shape: number[], blocks: Fp8Blocks): boolean {
  return isProjection(name) && (blocks === 'release' || shape.every((n) => n % WEIGHT_BLOCK === 0));
}

function isProjection(name: string): boolean {
  return /_proj(_with_mqa)?\.weight$/.test(name) && !name.endsWith('.eh_proj.weight');
}

function attnShapes(c: RuntimeModelConfig): [string, number[]][] {
  const d = c.hidden_size;
  const H = c.num_attention_heads;
  const qk = c.qk_nope_head_dim + c.qk_rope_head_dim;
  const q: [string, number[]][] = c.q_lora_rank > 0
    ? [['q_a_proj.weight', [c.q_lora_rank, d]], ['q_a_layernorm.weight', [c.q_lora_rank]], ['q_b_proj.weight', [H * qk, c.q_lora_rank]]]
    : [['q_proj.weight', [H * qk, d]]];
  return [
    ...q,
    ['kv_a_proj_with_mqa.weight', [c.kv_lora_rank + c.qk_rope_head_dim, d]],
    ['kv_a_layernorm.weight', [c.kv_lora_rank]],
    ['kv_b_proj.weight', [H * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank]],
    ['o_proj.weight', [d, H * c.v_head_dim]],
  ];
}

function ffnShapes(prefix: string, d: number, inner: number): [string, number[]][] {
  return [[`${prefix}.gate_proj.weight`, [inner, d]], [`${prefix}.up_proj.weight`, [inner, d]], [`${prefix}.down_proj.weight`, [d, inner]]];
}

function blockShapes(c: RuntimeModelConfig, layer: number): [string, number[]][] {
  const d = c.hidden_size;
  const out: [string, number[]][] = [['input_layernorm.weight', [d]], ...attnShapes(c).map(([n, s]) => [`self_attn.${n}`, s] as [string, number[]]), ['post_attention_layernorm.weight', [d]]];
  if (!isMoeLayer(c, layer)) return [...out, ...ffnShapes('mlp', d, c.intermediate_size)];
  out.push(['mlp.gate.weight', [c.n_routed_experts, d]], ['mlp.gate.e_score_correction_bias', [c.n_routed_experts]]);
  for (let e = 0; e < c.n_routed_experts; e++) out.push(...ffnShapes(`mlp.experts.${e}`, d, c.moe_intermediate_size));
  if (c.n_shared_experts > 0) out.push(...ffnShapes('mlp.shared_experts', d, c.n_shared_experts * c.moe_intermediate_size));
  return out;
}

/** Every tensor of the export, in file order, with dtype and shape. */
export function exportLayout(c: RuntimeModelConfig, blocks: Fp8Blocks = 'whole'): LayoutEntry[] {
  const d = c.hidden_size;
  const out: LayoutEntry[] = [];
  const add = (name: string, shape: number[], source = name): void => {
    if (name.endsWith('e_score_correction_bias')) out.push({ name, dtype: 'F32', shape, source });
    else if (isFp8(name, shape, blocks)) {
      out.push({ name, dtype: 'F8_E4M3', shape, source });
      out.push({ name: `${name}_scale_inv`, dtype: 'F32', shape: [Math.ceil(shape[0] / WEIGHT_BLOCK), Math.ceil(shape[1] / WEIGHT_BLOCK)], source });
    } else out.push({ name, dtype: 'BF16', shape, source });
  };
  add('model.embed_tokens.weight', [c.vocab_size, d]);
  for (let l = 0; l < c.num_hidden_layers; l++) for (const [n, s] of blockShapes(c, l)) add(`model.layers.${l}.${n}`, s);
  add('model.norm.weight', [d]);
  add('lm_head.weight', [c.vocab_size, d]);
  for (let k = 0; k < c.num_nextn_predict_layers; k++) {
    const pre = mtpPrefix(c, k);
    add(`${pre}.embed_tokens.weight`, [c.vocab_size, d], 'model.embed_tokens.weight');
    add(`${pre}.enorm.weight`, [d]);
    add(`${pre}.hnorm.weight`, [d]);
    add(`${pre}.eh_proj.weight`, [d, 2 * d]);
    for (const [n, s] of blockShapes(c, c.num_hidden_layers + k)) add(`${pre}.${n}`, s);
    add(`${pre}.shared_head.norm.weight`, [d]);
    add(`${pre}.shared_head.head.weight`, [c.vocab_size, d], 'lm_head.weight');
  }
  return out;
}

export function entryBytes(e: LayoutEntry): number {
  return e.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[e.dtype];
}

/** Shard file names and the index's weight_map, splitting in layout order at `maxShardBytes`. */
export function shardPlan(layout: LayoutEntry[], maxShardBytes = 5 * 2 ** 30): { shards: LayoutEntry[][]; names: string[]; index: { metadata: { total_size: number }; weight_map: Record<string, string> } } {
  const shards: LayoutEntry[][] = [[]];
  let size = 0;
  let total = 0;
  for (const e of layout) {
    const b = entryBytes(e);
    if (size > 0 && size + b > maxShardBytes) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1].push(e);
    size += b;
    total += b;
  }
  const pad = (i: number): string => String(i).padStart(5, '0');
  const names = shards.map((_, i) => `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`);
  const weight_map: Record<string, string> = {};
  shards.forEach((s, i) => s.forEach((e) => (weight_map[e.name] = names[i])));
  return { shards, names, index: { metadata: { total_size: total }, weight_map } };
}

export interface ExportOptions {
  /** Largest shard in bytes (default 5 GiB, as the release). */
  maxShardBytes?: number;
  /** The run's tokenizer.json (any format tokenizerFromJSON reads); written in HuggingFace's format. */
  tokenizer?: object;
  /** The context the model was trained for (config.json max_position_embeddings). */
  maxPositions?: number;
  /** Partial 128×128 blocks: BF16 (`whole`, default) or FP8 as released (`release`). */
  fp8Blocks?: Fp8Blocks;
}

/** The released config.json: the architecture, the FP8 quantization_config, and BOS/EOS when the tokenizer has them. */
export function exportConfig(c: RuntimeModelConfig, o: Omit<ExportOptions, 'maxShardBytes'> = {}): Record<string, unknown> {
  return configOf(c, exportLayout(c, o.fp8Blocks), hfTokenizerOf(o.tokenizer), o.maxPositions);
}

/** The run's tokenizer.json in HuggingFace's format. */
const hfTokenizerOf = (tokenizer: object | undefined): Record<string, unknown> | undefined =>
  tokenizer ? toHfTokenizerJSON(tokenizerFromJSON(tokenizer)) : undefined;

function configOf(c: RuntimeModelConfig, layout: LayoutEntry[], hf: Record<string, unknown> | undefined, maxPositions: number | undefined): Record<string, unknown> {
  const bf16Projections = layout.filter((e) => e.dtype === 'BF16' && isProjection(e.name)).map((e) => e.name.replace(/\.weight$/, ''));
  const added = (hf?.added_tokens ?? []) as { id: number; content: string }[];
  const idOf = (content: string): number | null => added.find((t) => t.content === content)?.id ?? null;
  return toHfConfig(c, {
    maxPositions,
    bosTokenId: idOf(BOS),
    eosTokenId: idOf(EOS),
    quantization: {
      quant_method: 'fp8', fmt: 'e4m3', activation_scheme: 'dynamic', weight_block_size: [WEIGHT_BLOCK, WEIGHT_BLOCK],
      ...(bf16Projections.length > 0 ? { modules_to_not_convert: bf16Projections } : {}),
    },
  });
}

const BOS = '<｜begin▁of▁sentence｜>';
const EOS = '<｜end▁of▁sentence｜>';

/** tokenizer_config.json: the fast tokenizer class, special tokens when present, and the chat template the router uses. */
function tokenizerConfig(hf: Record<string, unknown>, maxPositions: number | undefined): Record<string, unknown> {
  const added = hf.added_tokens as { content: string }[];
  const has = (t: string): boolean => added.some((a) => a.content === t);
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: has(BOS) ? BOS : null,
    eos_token: has(EOS) ? EOS : null,
    add_bos_token: false,
    clean_up_tokenization_spaces: false,
    model_max_length: maxPositions ?? DEFAULT_MAX_POSITIONS,
    chat_template: CHAT_TEMPLATE_JINJA,
  };
}

/** Files of the export (name → bytes), from float32 weights by source name. */
export function exportFiles(c: RuntimeModelConfig, weights: Map<string, Float32Array>, o: ExportOptions = {}): Map<string, Uint8Array> {
  const layout = exportLayout(c, o.fp8Blocks);
  const shapeOf = new Map(layout.map((e) => [e.name, e.shape]));
  const hf = hfTokenizerOf(o.tokenizer);
  const plan = shardPlan(layout, o.maxShardBytes);
  const files = new Map<string, Uint8Array>();
  const quant = new Map<string, { q: Uint8Array; scaleInv: Float32Array }>();
  plan.shards.forEach((shard, i) => {
    const entries: TensorEntry[] = shard.map((e) => {
      const w = weights.get(e.source);
      if (!w) throw new Error(`export: weight ${e.source} (for ${e.name}) is missing from the checkpoint`);
      let data: Uint8Array;
      const scale = e.name.endsWith('_scale_inv');
      if (e.dtype === 'F32' && !scale) data = bytesOf(Float32Array.from(w));
      else if (e.dtype === 'BF16') data = bytesOf(Uint16Array.from(w, toBf16));
      else {
        const base = e.name.replace(/_scale_inv$/, '');
        let qz = quant.get(base);
        if (!qz) {
          const [rows, cols] = shapeOf.get(base)!;
          qz = quantizeBlocks(w, rows, cols, WEIGHT_BLOCK);
          quant.set(base, qz);
        }
        data = scale ? bytesOf(qz.scaleInv) : qz.q;
      }
      return { name: e.name, dtype: e.dtype, shape: e.shape, data };
    });
    files.set(plan.names[i], serialize(entries, { format: 'pt' }));
  });
  files.set('model.safetensors.index.json', Buffer.from(JSON.stringify(plan.index, null, 2)));
  files.set('config.json', Buffer.from(JSON.stringify(configOf(c, layout, hf, o.maxPositions), null, 2)));
  if (hf) {
    files.set('tokenizer.json', Buffer.from(JSON.stringify(hf)));
    files.set('tokenizer_config.json', Buffer.from(JSON.stringify(tokenizerConfig(hf, o.maxPositions), null, 2)));
  }
  return files;
}

/** Writes the export into `dir`: built in a sibling temporary folder, then renamed into place (replacing an old one). */
export function writeExport(dir: string, c: RuntimeModelConfig, weights: Map<string, Float32Array>, o: ExportOptions = {}): void {
  const tmp = path.join(path.dirname(dir), `.${path.basename(dir)}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const [name, bytes] of exportFiles(c, weights, o)) writeFileSync(path.join(tmp, name), bytes);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}
