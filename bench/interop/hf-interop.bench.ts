// Interop with transformers' DeepseekV3ForCausalLM (torch from PyPI; CI has no torch, so this is a benchmark-level
// check, not a test). Both directions, logits compared at every position of one prompt:
//   1. transformers → us: random DeepseekV3 models saved by save_pretrained (q_lora_rank set and null, a non-default
//      rope_theta, YaRN) served by our engine in fp32;
//   2. us → transformers: our export (FP8 blocks, BF16 where a block would be partial) loaded by from_pretrained and
//      dequantised, against our engine serving the same folder in fp32.
// The python is MOE_TORCH_PYTHON (bench/interop/requirements-peer.txt), else the first of MOE_PYTHON / python3 that
// imports torch and transformers; without one the result records why it was skipped. Writes bench/results/hf-interop.json.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeExport } from '../../runtime/src/checkpoint/export.js';
import { byteTokenizer } from '../../runtime/src/data/tokenizer.js';
import { modelConfig } from '../../runtime/src/model/config.js';
import { Rng } from '../../runtime/src/model/rng.js';
import { alloc32 } from '../../runtime/src/model/tensor.js';
import { buildParams } from '../../runtime/src/model/transformer.js';
import { toHfTokenizerJSON } from '../../runtime/src/data/hf-tokenizer.js';
import { Engine } from '../../runtime/src/serve/engine/engine.js';
import { repoRoot, writeResult } from '../plan/common.js';
import { findPython } from '../../test/util/python.js';

const peer = path.join(repoRoot, 'bench/interop/hf_peer.py');


const PROMPT = Array.from(byteTokenizer.encode('The red fox jumps over the lazy dog again and again.'));

async function ours(dir: string): Promise<Float32Array> {
  const e = await Engine.load(dir, { maxBatch: 1, maxQueue: 1, precision: 'fp32' });
  try {
    return e.model.forward([{ cache: e.model.newCache(), tokens: Int32Array.from(PROMPT) }], undefined, true);
  } finally {
    await e.close();
  }
}

function theirs(py: string, dir: string): number[] {
  const ids = path.join(dir, '..', `${path.basename(dir)}-ids.json`);
  writeFileSync(ids, JSON.stringify(PROMPT));
  return (JSON.parse(execFileSync(py, [peer, 'logits', dir, ids], { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'pipe'] })) as { logits: number[] }).logits;
}

function compare(a: ArrayLike<number>, b: ArrayLike<number>): { maxAbsDiff: number; maxAbsLogit: number; relative: number } {
  if (a.length !== b.length) throw new Error(`logit counts differ: ${a.length} vs ${b.length}`);
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return { maxAbsDiff: +d.toExponential(3), maxAbsLogit: +m.toFixed(4), relative: +(d / m).toExponential(3) };
}

const BASE = {
  vocab_size: 256, hidden_size: 128, intermediate_size: 256, moe_intermediate_size: 64, num_hidden_layers: 3, first_k_dense_replace: 1,
  num_attention_heads: 4, num_key_value_heads: 4, kv_lora_rank: 32, qk_nope_head_dim: 32, qk_rope_head_dim: 16, v_head_dim: 32,
  n_routed_experts: 8, num_experts_per_tok: 2, n_group: 4, topk_group: 2, n_shared_experts: 1, routed_scaling_factor: 2.5,
  max_position_embeddings: 256, num_nextn_predict_layers: 1,
};

const py = findPython([process.env.MOE_TORCH_PYTHON, process.env.MOE_PYTHON, 'python3'], ['torch', 'transformers']);
if (!py) {
  console.log(`wrote ${writeResult('hf-interop', { skipped: 'no python with torch and transformers: set MOE_TORCH_PYTHON (bench/interop/requirements-peer.txt says how)' })}`);
  process.exit(0);
}
const tmp = mkdtempSync(path.join(tmpdir(), 'moe-hf-interop-'));
try {
  const fromHf: Record<string, unknown>[] = [];
  for (const [name, extra] of [
    ['q_lora_rank 64, rope_theta 50000', { q_lora_rank: 64, rope_parameters: { rope_type: 'default', rope_theta: 50000 } }],
    ['q_lora_rank null', { q_lora_rank: null }],
    // YaRN over an original context shorter than the prompt, as released (mscale = mscale_all_dim = 1) and with
    // transformers' defaults (no mscale fields: the rotated values get the factor's correction, the softmax none).
    ['YaRN factor 4 over 16 positions, mscale 1/1', { q_lora_rank: 64, rope_parameters: { rope_type: 'yarn', rope_theta: 10000, factor: 4, original_max_position_embeddings: 16, beta_fast: 32, beta_slow: 1, mscale: 1, mscale_all_dim: 1 } }],
    ['YaRN factor 8 over 16 positions, no mscale fields', { q_lora_rank: 64, rope_parameters: { rope_type: 'yarn', rope_theta: 10000, factor: 8, original_max_position_embeddings: 16 } }],
  ] as const) {
    const dir = path.join(tmp, `hf-${fromHf.length}`);
    execFileSync(py, [peer, 'save-random', dir, JSON.stringify({ ...BASE, ...extra }), '7'], { stdio: ['ignore', 'ignore', 'pipe'] });
    writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(toHfTokenizerJSON(byteTokenizer)));
    const hf = theirs(py, dir);
    const r = compare(await ours(dir), hf);
    console.log(`transformers → us (${name}): max |Δlogit| ${r.maxAbsDiff} of max |logit| ${r.maxAbsLogit}`);
    // What ignoring YaRN (the behaviour before it was implemented) costs on the same model.
    let ignoringYarn: ReturnType<typeof compare> | undefined;
    if ('rope_parameters' in extra && extra.rope_parameters.rope_type === 'yarn') {
      const cfgFile = path.join(dir, 'config.json');
      const cfg = JSON.parse(readFileSync(cfgFile, 'utf8'));
      writeFileSync(cfgFile, JSON.stringify({ ...cfg, rope_parameters: { rope_type: 'default', rope_theta: cfg.rope_parameters.rope_theta } }));
      ignoringYarn = compare(await ours(dir), hf);
      console.log(`  the same with YaRN ignored: max |Δlogit| ${ignoringYarn.maxAbsDiff}`);
    }
    fromHf.push({ case: name, ...r, ...(ignoringYarn ? { ignoringYarn } : {}) });
  }
  // Our export of a random model of the tiny preset's attention shape with a byte vocabulary.
  const c = modelConfig('deepseek-v3-tiny', { vocab_size: 256 });
  const P = buildParams(c, alloc32, new Rng(11));
  const weights = new Map([...P.list().map((p) => [p.name, p.data as Float32Array] as const), ...[...P.buffers].map(([n, b]) => [n, b as Float32Array] as const)]);
  const exportDir = path.join(tmp, 'export');
  writeExport(exportDir, c, weights, { tokenizer: byteTokenizer.toJSON(), maxPositions: 256 });
  const toHf = compare(await ours(exportDir), theirs(py, exportDir));
  console.log(`us → transformers (deepseek-v3-tiny export, FP8 + BF16): max |Δlogit| ${toHf.maxAbsDiff} of max |logit| ${toHf.maxAbsLogit}`);
  console.log(`wrote ${writeResult('hf-interop', {
    peer: { python: py, torch: execFileSync(py, ['-c', 'import torch, transformers; print(torch.__version__, transformers.__version__)'], { encoding: 'utf8' }).trim() },
    promptTokens: PROMPT.length,
    transformersToUs: fromHf,
    usToTransformers: { case: 'deepseek-v3-tiny (vocab 256) export', ...toHf },
  })}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
