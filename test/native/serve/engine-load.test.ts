// Loading for serving: a run folder's latest checkpoint gives exactly the in-memory model; a DeepSeek-layout export
// (FP8 projections + 128×128 scales, BF16 rest, tokenizer.json) loads with the shipped codes; a missing
// tokenizer.json fails naming the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { need } from '../../util/need.js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { saveCheckpoint } from '../../../runtime/src/checkpoint/checkpoint-dirs.js';
import { writeExport } from '../../../runtime/src/checkpoint/export.js';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { decodeE4M3, fromBf16, quantizeBlocks, toBf16 } from '../../../runtime/src/model/fp8.js';
import { defaultTrainOptions } from '../../../runtime/src/train/options.js';
import { liveWeights, snapshot } from '../../../runtime/src/train/state.js';
import { Trainer } from '../../../runtime/src/train/trainer.js';
import { nativeAvailable } from '../../../runtime/src/model/precision.js';
import { Engine } from '../../../runtime/src/serve/engine/engine.js';
import { loadModelFolder } from '../../../runtime/src/serve/engine/load.js';
import { weightsFromParams } from '../../../runtime/src/serve/engine/weights.js';
import { microServe } from './fixtures.js';

const native = need(nativeAvailable(), 'the native kernels addon (runtime/native)', 'run `make native`');

const params = { maxTokens: 8, temperature: 0, topP: 1, seed: 0, stopTokenIds: [] };

function trainer(): Trainer {
  const t = new Trainer(defaultTrainOptions({ overrides: microServe, precision: 'fp32', seqLen: 24, batch: 2, steps: 1 }), byteTokenizer, byteTokenizer.encode('the cat sat on the mat. '.repeat(20)));
  t.trainStep();
  return t;
}

async function tokens(e: Engine, prompt: string): Promise<number[]> {
  const out: number[] = [];
  await e.generate({ id: 'g', promptIds: byteTokenizer.encode(prompt), params }, (t) => out.push(t));
  return out;
}

test('run folder: the latest checkpoint serves exactly the trainer\'s model; max sequence length = trained seqLen', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'serve-run-'));
  try {
    const t = trainer();
    await saveCheckpoint(dir, 1, snapshot(t), 2);
    const loaded = await Engine.load(dir, { maxBatch: 2, maxQueue: 2, precision: 'fp32' });
    const mem = Engine.fromWeights(t.config, byteTokenizer, weightsFromParams(t.params), { maxBatch: 2, maxQueue: 2, precision: 'fp32' });
    assert.equal(loaded.maxSequenceLength, 24);
    assert.deepEqual(await tokens(loaded, 'the cat'), await tokens(mem, 'the cat'));
    await Promise.all([loaded.close(), mem.close()]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('export folder: FP8 codes and scales kept as shipped, dequantised values for fp32, BF16 tensors widened; the first MTP module loaded (the drafter)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'serve-export-'));
  try {
    const t = trainer();
    const w = liveWeights(t);
    // The released layout (partial 128×128 blocks in FP8, as DeepSeek-V3's kv_a_proj_with_mqa), so that the micro
    // model's small projections are shipped as FP8 codes.
    writeExport(path.join(dir, 'export'), t.config, w, { tokenizer: byteTokenizer.toJSON(), fp8Blocks: 'release' });
    // A run folder without checkpoints but with the export rank 0 wrote resolves to the export.
    const m = loadModelFolder(dir);
    assert.equal(m.kind, 'export');
    assert.deepEqual(m.config, t.config);
    assert.equal(m.tokenizer.kind, 'hf');
    assert.deepEqual(Array.from(m.tokenizer.encode('the cat')), Array.from(byteTokenizer.encode('the cat')));
    const name = 'model.layers.1.mlp.experts.3.up_proj.weight';
    const src = w.get(name)!;
    const want = quantizeBlocks(src, 16, 32);
    assert.deepEqual(m.weights.fp8.get(name)!.q, want.q);
    assert.deepEqual(m.weights.fp8.get(name)!.scaleInv, want.scaleInv);
    assert.equal(m.weights.f32.get(name)![5], decodeE4M3(want.q[5]) * want.scaleInv[0]);
    const norm = m.weights.f32.get('model.layers.0.input_layernorm.weight')!;
    assert.equal(norm[3], fromBf16(toBf16(w.get('model.layers.0.input_layernorm.weight')![3])));
    assert.ok(m.weights.f32.get('model.layers.1.mlp.gate.e_score_correction_bias')!.every((v, i) => v === w.get('model.layers.1.mlp.gate.e_score_correction_bias')![i]));
    const mtp = `model.layers.${t.config.num_hidden_layers}`;
    for (const k of ['enorm.weight', 'hnorm.weight', 'eh_proj.weight', 'shared_head.norm.weight', 'self_attn.kv_b_proj.weight']) assert.ok(m.weights.f32.has(`${mtp}.${k}`), `${mtp}.${k} should be loaded`);
    assert.equal(m.weights.f32.get(`${mtp}.hnorm.weight`)![2], fromBf16(toBf16(w.get(`${mtp}.hnorm.weight`)![2])));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('export folder: serves in fp8 (shipped codes) and fp32 (dequantised); their logits agree to FP8 rounding', { skip: !native && 'see the failing prerequisite test' }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'serve-export-'));
  try {
    const t = trainer();
    writeExport(dir, t.config, liveWeights(t), { tokenizer: byteTokenizer.toJSON(), fp8Blocks: 'release' });
    const f8 = await Engine.load(dir, { maxBatch: 2, maxQueue: 2, precision: 'fp8' });
    const f32 = await Engine.load(dir, { maxBatch: 2, maxQueue: 2, precision: 'fp32' });
    assert.equal(f8.maxSequenceLength, 4096);
    assert.equal((await tokens(f8, 'the cat sat')).length, 8);
    // The export's MTP module drafts: greedy tokens are the same with drafting.
    const drafting = await Engine.load(dir, { maxBatch: 2, maxQueue: 2, precision: 'fp8', speculative: { method: 'mtp', tokens: 2 } });
    assert.deepEqual(await tokens(drafting, 'the cat sat'), await tokens(f8, 'the cat sat'));
    assert.ok(drafting.stats().speculative!.drafted > 0);
    await drafting.close();
    // Same weights, activations in FP8 or not: the logits of a prompt agree to FP8 activation rounding.
    const ids = byteTokenizer.encode('the cat sat on');
    const l8 = f8.model.forward([{ cache: f8.model.newCache(), tokens: ids }], undefined, true);
    const l32 = f32.model.forward([{ cache: f32.model.newCache(), tokens: ids }], undefined, true);
    let num = 0;
    let den = 0;
    for (let i = 0; i < l8.length; i++) {
      num = Math.max(num, Math.abs(l8[i] - l32[i]));
      den = Math.max(den, Math.abs(l32[i]));
    }
    assert.ok(num / den < 0.1 && num > 0, `fp8 vs fp32 logits: max diff ${num}, max |logit| ${den}`);
    await Promise.all([f8.close(), f32.close()]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('export without tokenizer.json, or a folder with no model, fails naming what is missing', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'serve-export-'));
  try {
    const t = trainer();
    writeExport(path.join(dir, 'e'), t.config, liveWeights(t));
    await assert.rejects(Engine.load(path.join(dir, 'e'), { maxBatch: 1, maxQueue: 1 }), /e\/tokenizer\.json is missing: the export must carry the tokenizer/);
    await assert.rejects(Engine.load(dir, { maxBatch: 1, maxQueue: 1 }), /holds neither a model folder .* nor a run's checkpoints/);
    // A distributed run's checkpoint (per-rank shards, no train_state.safetensors) without its export.
    await saveCheckpoint(path.join(dir, 'dist'), 3, [{ name: 'rank-0.safetensors', bytes: new Uint8Array(8) }], 1);
    await assert.rejects(Engine.load(path.join(dir, 'dist'), { maxBatch: 1, maxQueue: 1 }), /sharded \(distributed\) checkpoint without train_state\.safetensors.*export.* is missing/);
    // With the export next to it, the export is served.
    writeExport(path.join(dir, 'dist', 'export'), t.config, liveWeights(t), { tokenizer: byteTokenizer.toJSON() });
    assert.equal(loadModelFolder(path.join(dir, 'dist')).kind, 'export');
    await assert.rejects(Engine.load(path.join(dir, 'nope'), { maxBatch: 1, maxQueue: 1 }), /does not exist/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
