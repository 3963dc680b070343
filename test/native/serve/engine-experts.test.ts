// Expert load and redundant experts: cumulative routed-token counts per [MoE layer][expert]; per-GPU balance under
// the identity placement and under a placement with replicas (tokens of a replicated expert alternate between its
// slots); placement swaps in flight leave the generated tokens unchanged (replicas share the weights); bad
// placements are refused and the old one stays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { modelConfig } from '../../../runtime/src/model/config.js';
import { Engine } from '../../../runtime/src/serve/engine/engine.js';
import type { ExpertPlacement, SamplingParams } from '../../../runtime/src/serve/engine/types.js';
import { microServe } from './fixtures.js';

const c = modelConfig('deepseek-v3-tiny', microServe); // 3 layers, first dense: 2 MoE layers of 8 experts, top-2
const E = c.n_routed_experts;
const K = c.num_experts_per_tok;
const mk = (epSize = 1): Engine => Engine.random(c, byteTokenizer, { maxBatch: 4, maxQueue: 4, precision: 'fp32', epSize }, 3);
const params: SamplingParams = { maxTokens: 6, temperature: 0, topP: 1, seed: 0, stopTokenIds: [] };

async function gen(e: Engine, prompt: string, onToken: (t: number) => void = () => {}): Promise<number[]> {
  const out: number[] = [];
  await e.generate({ id: prompt, promptIds: byteTokenizer.encode(prompt), params }, (t) => {
    out.push(t);
    onToken(t);
  });
  return out;
}

/** max/mean of per-GPU totals, averaged over layers. */
function balanceOf(perGpu: number[][]): number {
  return perGpu.reduce((s, g) => s + Math.max(...g) / (g.reduce((a, b) => a + b, 0) / g.length), 0) / perGpu.length;
}

test('expertLoad: every fed token routes K pairs in each MoE layer; identity balance = max/mean over EP ranks', async () => {
  const e = mk(2);
  assert.deepEqual(e.expertLoad(), [Array(E).fill(0), Array(E).fill(0)]);
  assert.equal(e.stats().balance, 1);
  await Promise.all([gen(e, 'hello world'), gen(e, 'abc')]);
  // Fed tokens: the prompts and every generated token but the last.
  const fed = 11 + 3 + 2 * (params.maxTokens - 1);
  const load = e.expertLoad();
  assert.equal(load.length, 2);
  for (const row of load) assert.equal(row.reduce((a, b) => a + b, 0), fed * K);
  // Identity: GPU 0 holds experts 0-3, GPU 1 experts 4-7.
  const perGpu = load.map((row) => [row.slice(0, 4).reduce((a, b) => a + b, 0), row.slice(4).reduce((a, b) => a + b, 0)]);
  assert.ok(Math.abs(e.stats().balance - balanceOf(perGpu)) < 1e-12, `${e.stats().balance} vs ${balanceOf(perGpu)}`);
  await e.close();
});

test('placement with a replica of each layer\'s hottest expert: its tokens alternate between the replicas; tokens unchanged', async () => {
  const ref = mk();
  const want = await gen(ref, 'the cat sat on the mat');
  const e = mk();
  await gen(e, 'warm up the counters');
  const before = e.expertLoad();
  // 2 GPUs × 5 slots: experts 0..7 once, the hottest expert twice more (on both GPUs), slot 9 a spare copy of expert 0.
  const hot = before.map((row) => row.indexOf(Math.max(...row)));
  const phy2log = hot.map((h) => [0, 1, 2, 3, h, 4, 5, 6, 7, h].map((x, i) => (i === 9 && h === 0 ? 1 : x)));
  const p: ExpertPlacement = { version: 5, gpus: 2, slotsPerGpu: 5, phy2log };
  e.setPlacement(p);
  assert.equal(e.stats().placementVersion, 5);
  assert.deepEqual(await gen(e, 'the cat sat on the mat'), want);
  const after = e.expertLoad();
  const perGpu = after.map((row, l) => {
    const g = [0, 0];
    for (let x = 0; x < E; x++) {
      const n = row[x] - before[l][x];
      const slots = phy2log[l].flatMap((y, s) => (y === x ? [s] : []));
      // Round-robin from the first replica: replica k takes the pairs j with j mod r = k.
      slots.forEach((s, k) => (g[Math.floor(s / 5)] += Math.floor((n - k + slots.length - 1) / slots.length)));
    }
    return g;
  });
  assert.ok(Math.abs(e.stats().balance - balanceOf(perGpu)) < 1e-12, `${e.stats().balance} vs ${balanceOf(perGpu)}`);
  await Promise.all([ref.close(), e.close()]);
});

test('setPlacement mid-generation: requests in flight continue and give the same tokens', async () => {
  const ref = mk();
  const want = await gen(ref, 'swap me');
  const e = mk();
  const p: ExpertPlacement = { version: 2, gpus: 4, slotsPerGpu: 3, phy2log: [0, 1].map(() => [0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3]) };
  let swapped = false;
  const got = await gen(e, 'swap me', () => {
    if (!swapped) {
      e.setPlacement(p);
      swapped = true;
    }
  });
  assert.deepEqual(got, want);
  assert.equal(e.stats().placementVersion, 2);
  await Promise.all([ref.close(), e.close()]);
});

test('bad placements are refused with the field and the old placement stays', () => {
  const e = mk();
  const ok: ExpertPlacement = { version: 1, gpus: 2, slotsPerGpu: 4, phy2log: [0, 1].map(() => [0, 1, 2, 3, 4, 5, 6, 7]) };
  e.setPlacement(ok);
  const row = [0, 1, 2, 3, 4, 5, 6, 7];
  const cases: [ExpertPlacement, RegExp][] = [
    [{ ...ok, version: 2, phy2log: [row] }, /phy2log must have one row per MoE layer \(2\), got 1/],
    [{ ...ok, version: 2, phy2log: [row, [0, 1, 2, 3, 4, 5, 6, 6]] }, /phy2log\[1\] gives expert 7 no slot/],
    [{ ...ok, version: 2, phy2log: [row, [0, 1, 2, 3, 4, 5, 6, 8]] }, /phy2log\[1\]\[7\] = 8 is not an expert id in \[0, 8\)/],
    [{ ...ok, version: 2, phy2log: [row, [...row, 0]] }, /phy2log\[1\] must have gpus × slotsPerGpu = 8 entries, got 9/],
    [{ ...ok, version: 2, gpus: 0 }, /gpus must be an integer >= 1/],
    [{ ...ok, version: 2, gpus: 1, slotsPerGpu: 4 }, /4 slots cannot hold 8 experts/],
  ];
  for (const [p, re] of cases) {
    assert.throws(() => e.setPlacement(p), re);
    assert.equal(e.stats().placementVersion, 1);
  }
});
