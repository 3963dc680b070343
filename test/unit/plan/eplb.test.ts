// EPLB against the published example of deepseek-ai/EPLB (README output) and hand-worked cases for the tie rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { balancedPacking, eplbErrors, rebalanceExperts, replicateExperts } from '../../../operator/plan/eplb.js';

test('README example of deepseek-ai/EPLB: 2 layers × 12 experts, 16 replicas, 4 groups, 2 nodes, 8 GPUs', () => {
  const weight = [
    [90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86],
    [20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27],
  ];
  const r = rebalanceExperts(weight, 16, 4, 2, 8);
  // Printed output in the reference README.
  assert.deepEqual(r.phy2log, [
    [5, 6, 5, 7, 8, 4, 3, 4, 10, 9, 10, 2, 0, 1, 11, 1],
    [7, 10, 6, 8, 6, 11, 8, 9, 2, 4, 5, 1, 5, 0, 3, 1],
  ]);
  // logcnt and log2phy follow from phy2log: count the slots of each expert, list them in replica order.
  r.phy2log.forEach((row, l) => {
    const counts = new Array(12).fill(0);
    for (const e of row) counts[e]++;
    assert.deepEqual(r.logcnt[l], counts);
    r.log2phy[l]!.forEach((slots, e) => {
      const used = slots.filter((s) => s >= 0);
      assert.equal(used.length, counts[e]);
      for (const s of used) assert.equal(row[s], e);
    });
  });
});

test('balancedPacking: equal loads go to packs in index order (first index wins, lightest then lowest pack)', () => {
  assert.deepEqual(balancedPacking([5, 5, 5, 5], 2), { pack: [0, 1, 0, 1], rank: [0, 0, 1, 1] });
  // Loads 1, 4, 2, 3 → order 1(4), 3(3), 2(2), 0(1): pack0 ← 1, pack1 ← 3, pack1 ← 2 (3 < 4), pack0 ← 0 (pack1 is full).
  assert.deepEqual(balancedPacking([1, 4, 2, 3], 2), { pack: [0, 0, 1, 1], rank: [1, 0, 1, 0] });
  // One item per pack: identity.
  assert.deepEqual(balancedPacking([3, 9, 1], 3), { pack: [0, 1, 2], rank: [0, 0, 0] });
});

test('replicateExperts: each extra slot goes to the largest load per replica, first index on ties', () => {
  assert.deepEqual(replicateExperts([4, 4], 3), { phy2log: [0, 1, 0], rank: [0, 0, 1], logcnt: [2, 1] });
  // 9/1 > 6 → expert 0; then 9/2 = 4.5 < 6 → expert 1; then 4.5 > 6/2 = 3 → expert 0 again.
  assert.deepEqual(replicateExperts([9, 6], 5), { phy2log: [0, 1, 0, 1, 0], rank: [0, 0, 1, 1, 2], logcnt: [3, 2] });
});

test('global policy (groups % nodes ≠ 0): worked by hand', () => {
  // Replicate [10, 1, 1, 8] to 6: expert 0 (10), then expert 3 (8 > 5). Replica loads [5, 1, 1, 4, 5, 4] packed on
  // 2 GPUs × 3: order 0, 4, 3, 5, 1, 2 → GPU0 {0, 3, 1}, GPU1 {4, 5, 2} → slots [0, 3, 1, 0, 3, 2].
  const r = rebalanceExperts([[10, 1, 1, 8]], 6, 1, 2, 2);
  assert.deepEqual(r.phy2log, [[0, 3, 1, 0, 3, 2]]);
  assert.deepEqual(r.logcnt, [[2, 1, 1, 2]]);
  assert.deepEqual(r.log2phy, [[[0, 3], [2, -1], [5, -1], [1, 4]]]);
});

test('hierarchical policy keeps every group on one node and replicas on that node', () => {
  const load = [Array.from({ length: 16 }, (_, i) => (i * 37) % 11 + 1)];
  const r = rebalanceExperts(load, 24, 4, 2, 4);
  const perNode = 12;
  for (let node = 0; node < 2; node++) {
    const experts = new Set(r.phy2log[0]!.slice(node * perNode, (node + 1) * perNode));
    const groups = new Set([...experts].map((e) => Math.floor(e / 4)));
    assert.equal(groups.size, 2, `node ${node} holds exactly its two groups`);
  }
});

test('float32 arithmetic: loads are rounded like torch float tensors', () => {
  // 16777217 is not a float32; it rounds to 16777216 and ties with the second expert, so the first index wins.
  assert.deepEqual(replicateExperts([16777216, 16777217].map(Math.fround), 3).phy2log, [0, 1, 0]);
  // Then the three replicas (loads 2^23, 2^24, 2^23) share one GPU ordered by load, heaviest first: [1, 0, 0].
  // In float64 expert 1 would win the extra replica and the answer would be [0, 1, 1].
  assert.deepEqual(rebalanceExperts([[16777216, 16777217]], 3, 1, 1, 1).phy2log, [[1, 0, 0]]);
});

test('preconditions are reported with the argument names', () => {
  assert.deepEqual(eplbErrors([[1, 2, 3]], 2, 1, 1, 1), ['replicas (2) must be ≥ experts (3)']);
  assert.match(eplbErrors([[1, 2, 3, 4]], 6, 1, 1, 4).join(), /replicas \(6\) must be a multiple of gpus \(4\)/);
  assert.match(eplbErrors([[1, 2, 3, 4]], 8, 3, 3, 4).join(), /experts \(4\) must be divisible by groups \(3\)/);
  assert.match(eplbErrors([[1, 2, 3, 4]], 8, 2, 2, 3).join(), /replicas \(8\) must be a multiple of gpus \(3\)|gpus \(3\) must be a multiple of nodes \(2\)/);
  assert.match(eplbErrors([[1, -2]], 2, 1, 1, 1).join(), /finite and ≥ 0/);
  assert.match(eplbErrors([], 2, 1, 1, 1).join(), /non-empty/);
  assert.match(eplbErrors([[1, 2], [1]], 2, 1, 1, 1).join(), /rows must all have 2 experts/);
  assert.match(eplbErrors([[1, 2]], 2, 0, 1, 1).join(), /groups must be a positive integer/);
  assert.throws(() => rebalanceExperts([[1, 2, 3]], 2, 1, 1, 1), /rebalanceExperts: replicas \(2\) must be ≥ experts \(3\)/);
});
