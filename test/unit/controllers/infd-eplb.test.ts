// EPLB bookkeeping: load deltas (restarts via startedAt), smoothing, balance measured by hand, publish decisions.
// Reading the load reports themselves: test/unit/contract/reports.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { balanceOf, decideRebalance, loadDelta, parseState, smooth } from '../../../operator/controllers/infd/expert-rebalance.js';

const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-01T01:00:00Z';

describe('load reports', () => {
  test('delta against the previous reading of the same process', () => {
    assert.deepEqual(loadDelta({ startedAt: T0, counts: [[10, 20]] }, { startedAt: T0, counts: [[15, 50]] }), [[5, 30]]);
  });

  test('a new startedAt (restarted pod) or no previous reading: everything counted since startedAt is new', () => {
    assert.deepEqual(loadDelta({ startedAt: T0, counts: [[100, 200]] }, { startedAt: T1, counts: [[3, 4]] }), [[3, 4]]);
    assert.deepEqual(loadDelta(undefined, { startedAt: T0, counts: [[3, 4]] }), [[3, 4]]);
  });

  test('a counter that went backwards without a new startedAt is treated as a restart, never a negative load', () => {
    assert.deepEqual(loadDelta({ startedAt: T0, counts: [[10, 20]] }, { startedAt: T0, counts: [[5, 25]] }), [[5, 25]]);
  });

  test('exponential smoothing: α·previous + (1−α)·delta', () => {
    assert.deepEqual(smooth([[100, 0]], [[0, 100]], 0.8), [[80, 20]]);
    assert.deepEqual(smooth(undefined, [[7, 9]], 0.8), [[7, 9]]);
    assert.deepEqual(smooth([[1, 2, 3]], [[7, 9]], 0.8), [[7, 9]], 'a previous of another shape is dropped');
  });

  test('state in the placement ConfigMap survives garbage', () => {
    assert.deepEqual(parseState('{"smoothed":{"decode":[[1,2]],"prefill":"x"}}'), { smoothed: { decode: [[1, 2]] } });
    assert.deepEqual(parseState('nope'), { smoothed: {} });
  });
});

describe('balance and rebalancing', () => {
  test('balance = Σ max GPU load / Σ mean GPU load, experts split evenly over their replicas', () => {
    // 4 experts on 2 GPUs, slot p on GPU floor(p/2). Layer 0: GPU0 = 10+30, GPU1 = 0+0 → max 40, mean 20.
    // Layer 1: expert 0 has two replicas (slots 0 and 2): GPU0 = 10/2 + 5, GPU1 = 10/2 + 5 → max 10, mean 10.
    const load = [
      [10, 30, 0, 0],
      [10, 5, 5, 0],
    ];
    const phy2log = [
      [0, 1, 2, 3],
      [0, 1, 0, 2],
    ];
    assert.equal(balanceOf(load, phy2log, 2), (40 + 10) / (20 + 10));
  });

  test('skewed load: the first placement is published and lowers max/mean', () => {
    const load = [Array.from({ length: 16 }, (_, e) => (e < 4 ? 1000 : 10))];
    const d = decideRebalance({ load, slots: 32, groups: 4, nodes: 2, gpus: 16, minImprovement: 0.05 });
    assert.ok(d.ok);
    if (!d.ok) return;
    assert.equal(d.publish, true);
    // Contiguous sharding puts one expert per GPU: the busiest holds 1000 of a mean (4·1000 + 12·10)/16 = 257.5.
    assert.equal(d.before, Math.round((1000 / 257.5) * 10_000) / 10_000);
    // Hierarchical: the hot group (experts 0-3) stays on one pod of 8 GPUs, which then carries ≥ 4040/8 = 505 per GPU,
    // so 505/257.5 = 1.96 bounds it from below; the greedy packing reaches 2 replicas of 1000/3 on a GPU.
    assert.ok(d.after < d.before && d.after >= 1.96, `after ${d.after} vs before ${d.before}`);
    assert.equal(d.after, Math.round(((2 * 1000) / 3 / 257.5) * 10_000) / 10_000);
    // Global: each hot expert gets 5 replicas of 200; 20 of them over 16 GPUs puts two on four GPUs: 400/257.5.
    const g = decideRebalance({ load, slots: 32, groups: 1, nodes: 2, gpus: 16, minImprovement: 0.05 });
    assert.ok(g.ok && g.after === Math.round((400 / 257.5) * 10_000) / 10_000, JSON.stringify(g.ok && g.after));
    assert.equal(d.placement.slotsPerGpu, 2);
    assert.equal(d.placement.logcnt[0]!.reduce((a, b) => a + b, 0), 32);
  });

  test('no new version unless the improvement beats the margin', () => {
    const load = [Array.from({ length: 16 }, (_, e) => (e < 4 ? 1000 : 10))];
    const first = decideRebalance({ load, slots: 32, groups: 4, nodes: 2, gpus: 16, minImprovement: 0.05 });
    assert.ok(first.ok);
    if (!first.ok) return;
    const again = decideRebalance({ load, current: { version: 1, ...first.placement }, slots: 32, groups: 4, nodes: 2, gpus: 16, minImprovement: 0.05 });
    assert.ok(again.ok && !again.publish && again.before === first.after);
  });

  test('slots that do not split over the GPUs: an error naming the numbers, no throw', () => {
    const d = decideRebalance({ load: [[1, 2, 3, 4]], slots: 6, groups: 1, nodes: 1, gpus: 4, minImprovement: 0 });
    assert.equal(d.ok, false);
    if (!d.ok) assert.match(d.error, /replicas \(6\) must be a multiple of gpus \(4\)/);
  });
});
