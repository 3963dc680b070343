// moe-runtime end to end as a user runs it: train (JSON logs, metrics.jsonl, checkpoints), resume by running again,
// report SVGs, export in the DeepSeek layout, and flag errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { syntheticCorpus } from '../../../runtime/src/data/grammar.js';
import { microOverrides } from './fixtures.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../runtime/src/cli.js');

function run(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('moe-runtime train → resume → report → export', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'moe-cli-'));
  try {
    const data = path.join(dir, 'data.txt');
    writeFileSync(data, syntheticCorpus(9, 8000));
    const runDir = path.join(dir, 'run');
    const common = ['--data', data, '--run-dir', runDir, '--precision', 'fp32', '--batch', '2', '--seq-len', '8', '--checkpoint-every', '2', '--keep', '2', '--json', '--model-overrides', JSON.stringify(microOverrides)];
    let r = run(['train', ...common, '--steps', '4']);
    assert.equal(r.code, 0, r.err);
    const logs = r.out.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(logs.filter((l) => l.message === 'step').length, 4);
    assert.ok(logs.some((l) => l.message === 'checkpoint written' && l.step === 4));

    r = run(['train', ...common, '--steps', '6']);
    assert.equal(r.code, 0, r.err);
    const logs2 = r.out.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(logs2.some((l) => l.message === 'resumed from ' + path.join(runDir, 'checkpoints', 'step-00000004')), r.out);
    assert.deepEqual(logs2.filter((l) => l.message === 'step').map((l) => l.step), [5, 6]);
    const metrics = readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n');
    assert.equal(metrics.length, 6);

    r = run(['report', runDir]);
    assert.equal(r.code, 0, r.err);
    const svg = readFileSync(path.join(runDir, 'report', 'loss.svg'), 'utf8');
    assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, /<polyline/);
    assert.ok(existsSync(path.join(runDir, 'report', 'experts.svg')));

    const out = path.join(dir, 'export');
    r = run(['export', '--run-dir', runDir, '--out', out]);
    assert.equal(r.code, 0, r.err);
    const index = JSON.parse(readFileSync(path.join(out, 'model.safetensors.index.json'), 'utf8'));
    assert.equal(index.weight_map['model.layers.1.mlp.experts.7.down_proj.weight'], 'model-00001-of-00001.safetensors');
    const config = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
    assert.equal(config.quantization_config.fmt, 'e4m3');
    // The micro model's projections are smaller than one 128×128 block: BF16, and named for transformers.
    assert.equal(index.weight_map['model.layers.1.mlp.experts.7.down_proj.weight_scale_inv'], undefined);
    assert.ok(config.quantization_config.modules_to_not_convert.includes('model.layers.1.mlp.experts.7.down_proj'));
    assert.equal(config.max_position_embeddings, 8, 'the training sequence length');
    const tok = JSON.parse(readFileSync(path.join(out, 'tokenizer.json'), 'utf8'));
    assert.equal(tok.model.type, 'BPE');
    assert.equal(Object.keys(tok.model.vocab).length, 256);
    assert.ok(existsSync(path.join(out, 'tokenizer_config.json')));
    // --fp8-blocks release: DeepSeek's exact layout, the partial blocks in FP8 too.
    const released = path.join(dir, 'export-release');
    r = run(['export', '--run-dir', runDir, '--out', released, '--fp8-blocks', 'release']);
    assert.equal(r.code, 0, r.err);
    const index2 = JSON.parse(readFileSync(path.join(released, 'model.safetensors.index.json'), 'utf8'));
    assert.ok(index2.weight_map['model.layers.1.mlp.experts.7.down_proj.weight_scale_inv']);
    r = run(['export', '--run-dir', runDir, '--out', released, '--fp8-blocks', 'half']);
    assert.match(r.err, /--fp8-blocks must be whole or release, got "half"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('moe-runtime train --tokenizer bpe keeps the preset vocabulary, saves the merges and generates text', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'moe-cli-bpe-'));
  try {
    const data = path.join(dir, 'data.txt');
    writeFileSync(data, syntheticCorpus(9, 8000));
    const runDir = path.join(dir, 'run');
    const { vocab_size: _drop, ...noVocab } = microOverrides;
    const r = run(['train', '--data', data, '--run-dir', runDir, '--precision', 'fp32', '--batch', '2', '--seq-len', '8', '--steps', '2', '--json', '--tokenizer', 'bpe', '--model-overrides', JSON.stringify(noVocab)]);
    assert.equal(r.code, 0, r.err);
    const tok = JSON.parse(readFileSync(path.join(runDir, 'checkpoints', 'step-00000002', 'tokenizer.json'), 'utf8'));
    assert.equal(tok.kind, 'bpe');
    assert.ok(tok.merges.length > 50);
    const cfg = JSON.parse(readFileSync(path.join(runDir, 'checkpoints', 'step-00000002', 'config.json'), 'utf8'));
    assert.equal(cfg.vocab_size, 2048);
    const g = run(['generate', '--run-dir', runDir, '--prompt', 'the red', '--tokens', '3']);
    assert.equal(g.code, 0, g.err);
    assert.match(g.out, /^the red/);
    const again = run(['train', '--data', data, '--run-dir', runDir, '--precision', 'fp32', '--steps', '3', '--json', '--batch', '2', '--seq-len', '8', '--model-overrides', JSON.stringify(noVocab)]);
    assert.match(again.err, /trained with the bpe tokenizer; pass --tokenizer bpe/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('moe-runtime rejects bad flags with the flag name', () => {
  let r = run(['train', '--run-dir', '/tmp/x', '--batch', 'many']);
  assert.equal(r.code, 1);
  assert.match(r.err, /--batch must be a number/);
  r = run(['train', '--run-dir', '/tmp/x', '--precision', 'fp4']);
  assert.match(r.err, /--precision must be one of fp8, bf16, fp32/);
  r = run(['frobnicate']);
  assert.equal(r.code, 2);
  assert.match(r.err, /usage: moe-runtime/);
});
