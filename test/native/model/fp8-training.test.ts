// The FP8/BF16 training path on the native kernels: agreement with the TypeScript emulation of the same recipe,
// falling loss, and exact resume.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { precisionCtx } from '../../../runtime/src/model/precision.js';
import { Trainer } from '../../../runtime/src/train/trainer.js';
import { defaultTrainOptions } from '../../../runtime/src/train/options.js';
import { restore, snapshot } from '../../../runtime/src/train/state.js';
import { loadLatest, saveCheckpoint } from '../../../runtime/src/checkpoint/checkpoint-dirs.js';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { syntheticCorpus } from '../../../runtime/src/data/grammar.js';
import { Rng } from '../../../runtime/src/model/rng.js';
import { matmulN, matmulT, matmulTN } from '../../../runtime/src/model/tensor.js';
import { microOverrides } from '../../unit/runtime/fixtures.js';

const tokens = byteTokenizer.encode(syntheticCorpus(3, 20000));

function rand(n: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

for (const p of ['fp8', 'bf16'] as const) {
  test(`${p} linear GEMMs (forward, dgrad, wgrad): native kernels agree with the TypeScript emulation of the recipe`, () => {
    const rng = new Rng(1);
    const T = 37, inF = 200, outF = 130;
    const x = rand(T * inF, rng), W = rand(outF * inF, rng), dy = rand(T * outF, rng);
    const nat = precisionCtx(p, true).linear;
    const emu = precisionCtx(p, false).linear;
    const exact = new Float32Array(T * outF);
    matmulT(x, W, T, inF, outF, exact);
    const check = (a: Float32Array, b: Float32Array, what: string, tol: number): void => {
      let num = 0, den = 0;
      for (let i = 0; i < a.length; i++) {
        num += (a[i] - b[i]) ** 2;
        den += b[i] ** 2;
      }
      assert.ok(Math.sqrt(num / den) < tol, `${p} ${what}: relative RMS difference ${Math.sqrt(num / den)}`);
    };
    const yN = nat.forward(x, W, T, inF, outF, (n) => new Float32Array(n)) as Float32Array;
    check(yN, emu.forward(x, W, T, inF, outF, (n) => new Float32Array(n)) as Float32Array, 'forward vs emulation', 1e-4);
    check(yN, exact, 'forward vs exact', p === 'fp8' ? 0.06 : 0.01);
    const dxN = new Float32Array(T * inF), dxE = new Float32Array(T * inF);
    nat.dgrad(dy, W, T, outF, inF, dxN);
    emu.dgrad(dy, W, T, outF, inF, dxE);
    check(dxN, dxE, 'dgrad', 1e-4);
    const dwN = new Float32Array(outF * inF), dwE = new Float32Array(outF * inF);
    nat.wgrad(dy, x, T, outF, inF, dwN);
    emu.wgrad(dy, x, T, outF, inF, dwE);
    check(dwN, dwE, 'wgrad', 1e-4);
  });
}

test('fp8 dgrad/wgrad keep tiny gradients (amax far below the 1e-4 scale floor) as accurate as normal ones', () => {
  const rng = new Rng(2);
  const T = 64, inF = 256, outF = 128;
  const x = rand(T * inF, rng), W = rand(outF * inF, rng);
  const dy = rand(T * outF, rng).map((v) => v * 1e-9);
  const lin = precisionCtx('fp8', true).linear;
  const rel = (a: Float32Array, b: Float32Array): number => {
    let num = 0, den = 0;
    for (let i = 0; i < a.length; i++) {
      num += (a[i] - b[i]) ** 2;
      den += b[i] ** 2;
    }
    return Math.sqrt(num / den);
  };
  const dx = new Float32Array(T * inF), exactDx = new Float32Array(T * inF);
  lin.dgrad(dy, W, T, outF, inF, dx);
  matmulN(dy, W, T, outF, inF, exactDx);
  assert.ok(rel(dx, exactDx) < 0.06, `dgrad relative RMS error ${rel(dx, exactDx)}`);
  const dW = new Float32Array(outF * inF), exactDW = new Float32Array(outF * inF);
  lin.wgrad(dy, x, T, outF, inF, dW);
  matmulTN(dy, x, T, outF, inF, exactDW);
  assert.ok(rel(dW, exactDW) < 0.06, `wgrad relative RMS error ${rel(dW, exactDW)}`);
});

test('fp8 training on the native kernels lowers the loss and resumes exactly from a checkpoint', async () => {
  const opts = defaultTrainOptions({ precision: 'fp8', steps: 12, batch: 4, seqLen: 16, overrides: microOverrides, checkpointEvery: 0 });
  opts.optimizer = { ...opts.optimizer, lr: 1e-2, warmupSteps: 2 };
  const full = new Trainer(opts, byteTokenizer, tokens);
  assert.match(full.ctx.linear.name, /fp8-native/);
  const expected = Array.from({ length: 12 }, () => full.trainStep().mainLoss);
  assert.ok(expected.slice(-3).every((l) => l < expected[0] - 0.5), `loss should fall: ${expected.map((l) => l.toFixed(3)).join(' ')}`);

  const dir = mkdtempSync(path.join(os.tmpdir(), 'moe-fp8-'));
  try {
    const a = new Trainer(opts, byteTokenizer, tokens);
    for (let i = 0; i < 6; i++) a.trainStep();
    await saveCheckpoint(dir, a.step, snapshot(a), 2);
    const b = new Trainer(opts, byteTokenizer, tokens);
    restore(b, loadLatest(dir)!.files);
    const after = Array.from({ length: 6 }, () => b.trainStep().mainLoss);
    assert.deepEqual(after, expected.slice(6));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
