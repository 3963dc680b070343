// safetensors round trip and validation; atomic checkpoint directories with fallback; exact resume.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, readdirSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, serialize, asF32, asU16 } from '../../../runtime/src/checkpoint/safetensors.js';
import { BackgroundSaver, checkpointsDir, listSteps, loadLatest, saveCheckpoint, stepDirName } from '../../../runtime/src/checkpoint/checkpoint-dirs.js';
import { Trainer } from '../../../runtime/src/train/trainer.js';
import { defaultTrainOptions } from '../../../runtime/src/train/options.js';
import { restore, snapshot } from '../../../runtime/src/train/state.js';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { syntheticCorpus } from '../../../runtime/src/data/grammar.js';
import { microOverrides } from './fixtures.js';

function tmp(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'moe-ckpt-'));
}

test('safetensors: header layout is 8-byte LE length + JSON padded to 8, offsets relative to the data', () => {
  const buf = serialize([
    { name: 'a', dtype: 'F32', shape: [2], data: new Uint8Array(new Float32Array([1.5, -2]).buffer) },
    { name: 'b', dtype: 'BF16', shape: [1, 3], data: new Uint8Array(new Uint16Array([1, 2, 3]).buffer) },
  ], { step: '7' });
  const n = Number(new DataView(buf.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0);
  const header = JSON.parse(Buffer.from(buf.subarray(8, 8 + n)).toString());
  assert.deepEqual(header.a, { dtype: 'F32', shape: [2], data_offsets: [0, 8] });
  assert.deepEqual(header.b, { dtype: 'BF16', shape: [1, 3], data_offsets: [8, 14] });
  assert.deepEqual(header.__metadata__, { step: '7' });
  assert.equal(buf.length, 8 + n + 14);
  const f = parse(buf);
  assert.deepEqual(Array.from(asF32(f.tensors.get('a')!)), [1.5, -2]);
  assert.deepEqual(Array.from(asU16(f.tensors.get('b')!)), [1, 2, 3]);
});

test('safetensors: truncation and size mismatches are reported with the tensor name', () => {
  const buf = serialize([{ name: 'w', dtype: 'F32', shape: [4], data: new Uint8Array(16) }]);
  assert.throws(() => parse(buf.subarray(0, buf.length - 1)), /tensor w ends at byte .* \(truncated\?\)/);
  assert.throws(() => parse(buf.subarray(0, 5)), /shorter than the 8-byte header/);
  assert.throws(() => serialize([{ name: 'x', dtype: 'F32', shape: [3], data: new Uint8Array(8) }]), /tensor x has 8 bytes, but F32\[3\] needs 12/);
});

test('checkpoints: written atomically with a manifest, pruned to keep, corrupt or truncated latest falls back with a warning', async () => {
  const dir = tmp();
  try {
    for (const s of [10, 20, 30, 40]) await saveCheckpoint(dir, s, [{ name: 'x.bin', bytes: Buffer.from(`step ${s}`) }], 3);
    assert.deepEqual(listSteps(dir), [40, 30, 20]);
    assert.ok(!readdirSync(checkpointsDir(dir)).some((n) => n.includes('.tmp')));
    const manifest = JSON.parse(readFileSync(path.join(checkpointsDir(dir), stepDirName(40), 'manifest.json'), 'utf8'));
    assert.equal(manifest.files[0].size, 'step 40'.length);
    assert.match(manifest.files[0].sha256, /^[0-9a-f]{64}$/);

    const warnings: string[] = [];
    writeFileSync(path.join(checkpointsDir(dir), stepDirName(40), 'x.bin'), 'step 4X'); // same size, other bytes
    let got = loadLatest(dir, (w) => warnings.push(w));
    assert.equal(got?.step, 30);
    assert.match(warnings[0], /step-00000040.*sha256/);

    writeFileSync(path.join(checkpointsDir(dir), stepDirName(30), 'x.bin'), 'step'); // truncated
    got = loadLatest(dir, (w) => warnings.push(w));
    assert.equal(got?.step, 20);
    assert.match(warnings.at(-1)!, /step-00000030.*truncated/);

    rmSync(path.join(checkpointsDir(dir), stepDirName(20), 'manifest.json')); // crashed before the manifest
    assert.equal(loadLatest(dir, (w) => warnings.push(w)), undefined);
    assert.match(warnings.at(-1)!, /manifest.json is missing/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exact resume: stopping at a checkpoint and resuming gives the same loss at every later step', async () => {
  const tokens = byteTokenizer.encode(syntheticCorpus(3, 6000));
  const opts = defaultTrainOptions({ precision: 'fp32', steps: 8, batch: 2, seqLen: 8, overrides: microOverrides, checkpointEvery: 0 });
  const full = new Trainer(opts, byteTokenizer, tokens);
  const expected = Array.from({ length: 8 }, () => full.trainStep().loss);

  const dir = tmp();
  try {
    const first = new Trainer(opts, byteTokenizer, tokens);
    const before = Array.from({ length: 4 }, () => first.trainStep().loss);
    await saveCheckpoint(dir, first.step, snapshot(first), 2);
    first.trainStep(); // work after the checkpoint that a crash loses

    const resumed = new Trainer(opts, byteTokenizer, tokens);
    const ck = loadLatest(dir);
    assert.ok(ck && existsSync(ck.dir));
    restore(resumed, ck.files);
    assert.equal(resumed.step, 4);
    const after = Array.from({ length: 4 }, () => resumed.trainStep().loss);
    assert.deepEqual([...before, ...after], expected);
    assert.ok(expected[7] < expected[0], `loss should fall: ${expected.join(', ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('restore refuses a checkpoint written for another model config', () => {
  const tokens = byteTokenizer.encode(syntheticCorpus(3, 3000));
  const a = new Trainer(defaultTrainOptions({ precision: 'fp32', batch: 1, seqLen: 8, overrides: microOverrides }), byteTokenizer, tokens);
  const b = new Trainer(defaultTrainOptions({ precision: 'fp32', batch: 1, seqLen: 8, overrides: { ...microOverrides, hidden_size: 32 } }), byteTokenizer, tokens);
  const files = new Map(snapshot(a).map((f) => [f.name, f.bytes]));
  assert.throws(() => restore(b, files), /different model config/);
});

test('background saver writes on a worker thread while the main thread stays busy', async () => {
  const dir = tmp();
  try {
    const done: number[] = [];
    const saver = new BackgroundSaver(dir, 2, (step) => done.push(step), (e) => assert.fail(e));
    const finished = saver.save(5, [{ name: 'big.bin', bytes: new Uint8Array(8 << 20).fill(7) }]);
    // Busy-wait without yielding: only another thread can make progress on the save.
    const until = Date.now() + 20000;
    while (!existsSync(path.join(checkpointsDir(dir), stepDirName(5))) && Date.now() < until) { /* spin */ }
    assert.ok(existsSync(path.join(checkpointsDir(dir), stepDirName(5), 'manifest.json')), 'the worker should have finished the save during the busy loop');
    assert.deepEqual(done, []); // completion is reported when the main thread yields
    await finished;
    assert.deepEqual(done, [5]);
    await saver.close();
    assert.equal(loadLatest(dir)?.files.get('big.bin')?.length, 8 << 20);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
