// The pure parts of the distributed runtime: rank groups from the plan's rank table, hosts-file lookup, the ZeRO-1
// shard layout, stage split, and where DualPipe puts each stage and micro-batch.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rankGroups } from '../../../runtime/src/parallel/rank-groups.js';
import { lookupHosts } from '../../../runtime/src/comm/resolve.js';
import { shardPieces, zero1Layout } from '../../../runtime/src/parallel/zero1-layout.js';
import { stageLayers } from '../../../runtime/src/parallel/stage.js';
import { globalMicroBatch, stageCount, stageOf } from '../../../runtime/src/parallel/pp-ops.js';
import { checkPlacement } from '../../../runtime/src/parallel/moe-ep.js';

describe('rank groups from the rank table (order tp, ep, pp, dp)', () => {
  // EP=2, PP=2, DP=2: rank = ep + 2·pp + 4·dp
  const t = {
    ep: [0, 1, 0, 1, 0, 1, 0, 1], pp: [0, 0, 1, 1, 0, 0, 1, 1], dp: [0, 0, 0, 0, 1, 1, 1, 1], tp: [0, 0, 0, 0, 0, 0, 0, 0],
  };
  it('the pipeline holds the same (ep, dp) in pipeline order; the data/expert group shares the pipeline rank', () => {
    assert.deepEqual(rankGroups(t, 5), { pp: [5, 7], dp: [0, 1, 4, 5] });
    assert.deepEqual(rankGroups(t, 2), { pp: [0, 2], dp: [2, 3, 6, 7] });
  });
  it('refuses tensor parallelism and a rank outside the table, naming them', () => {
    assert.throws(() => rankGroups({ ...t, tp: [0, 1, 0, 1, 0, 1, 0, 1] }, 0), /tensor parallelism/);
    assert.throws(() => rankGroups(t, 8), /RANK 8 is outside the plan's rank table of 8 ranks/);
    assert.throws(() => rankGroups({ ...t, ep: [0] }, 0), /rankTable.ep has 1 entries, rankTable.pp has 8/);
  });
});

describe('hosts file lookup', () => {
  const text = '# pods\n127.1.0.2 job-0 job-0.job.ns.svc\n127.1.0.3   job-1.job.ns.svc  # rank 1\n';
  it('finds a name among the aliases, with or without the trailing dot', () => {
    assert.equal(lookupHosts(text, 'job-0.job.ns.svc'), '127.1.0.2');
    assert.equal(lookupHosts(text, 'job-1.job.ns.svc.'), '127.1.0.3');
    assert.equal(lookupHosts(text, 'job-2.job.ns.svc'), undefined);
  });
});

describe('ZeRO-1 layout', () => {
  const params = [{ name: 'a', length: 5, decay: true }, { name: 'b', length: 2, decay: false }, { name: 'c', length: 4, decay: true }];
  it('cuts the flat vector into equal shards (last padded) and names the pieces of each', () => {
    const l = zero1Layout(params, 3);
    assert.equal(l.total, 11);
    assert.equal(l.shardLen, 4);
    assert.deepEqual(shardPieces(l, params, 0), [{ name: 'a', decay: true, from: 0, to: 4, shardOffset: 0 }]);
    assert.deepEqual(shardPieces(l, params, 1), [
      { name: 'a', decay: true, from: 4, to: 5, shardOffset: 0 },
      { name: 'b', decay: false, from: 0, to: 2, shardOffset: 1 },
      { name: 'c', decay: true, from: 0, to: 1, shardOffset: 3 },
    ]);
    assert.deepEqual(shardPieces(l, params, 2), [{ name: 'c', decay: true, from: 1, to: 4, shardOffset: 0 }]);
  });
  it('rejects a DP size or rank that makes no sense', () => {
    assert.throws(() => zero1Layout(params, 0), /data-parallel size must be a positive integer, got 0/);
    assert.throws(() => shardPieces(zero1Layout(params, 2), params, 2), /rank 2 is outside 0..1/);
  });
});

describe('pipeline stages', () => {
  it('splits layers as the planner does: evenly, the middle stages taking the remainder first', () => {
    // 7 = 2 + 3 + 2: stage 0 also embeds, the last stage also holds the head and MTP
    assert.deepEqual([0, 1, 2].map((s) => stageLayers(7, 3, s)), [{ from: 0, to: 2 }, { from: 2, to: 5 }, { from: 5, to: 7 }]);
    assert.deepEqual([0, 1, 2, 3].map((s) => stageLayers(6, 4, s)), [{ from: 0, to: 1 }, { from: 1, to: 3 }, { from: 3, to: 5 }, { from: 5, to: 6 }]);
    assert.throws(() => stageLayers(2, 4, 0), /4 stages need at least 4 layers, the model has 2/);
  });
  it('DualPipe: rank r runs stage r forward-direction and PP−1−r in the other; the second half of the batch enters from the end', () => {
    assert.equal(stageCount('DualPipe', 4), 4);
    assert.deepEqual([0, 1, 2, 3].map((r) => [stageOf('DualPipe', r, 4, 0), stageOf('DualPipe', r, 4, 1)]), [[0, 3], [1, 2], [2, 1], [3, 0]]);
    assert.equal(globalMicroBatch('DualPipe', 1, 0, 8), 4);
    assert.equal(globalMicroBatch('DualPipe', 0, 3, 8), 3);
  });
  it('DualPipeV: 2·PP stages, rank r holds r and 2PP−1−r, micro-batches keep their number on the way back', () => {
    assert.equal(stageCount('DualPipeV', 2), 4);
    assert.deepEqual([0, 1].map((r) => [stageOf('DualPipeV', r, 2, 0), stageOf('DualPipeV', r, 2, 1)]), [[0, 3], [1, 2]]);
    assert.equal(globalMicroBatch('DualPipeV', 1, 2, 4), 2);
    assert.throws(() => stageOf('1F1B', 0, 2, 1), /1F1B has one direction only/);
  });
});

describe('expert placement check', () => {
  it('accepts each expert on exactly one EP rank, in any order; names the expert otherwise', () => {
    checkPlacement([[0, 1], [2, 3]], 4, 2);
    checkPlacement([[3, 0], [2, 1]], 4, 2);
    assert.throws(() => checkPlacement([[0, 1], [1, 3]], 4, 2), /expert 1 is placed on 2 EP ranks/);
    assert.throws(() => checkPlacement([[0, 1], [3]], 4, 2), /expert 2 is placed on 0 EP ranks/);
    assert.throws(() => checkPlacement([[0, 1, 2, 3]], 4, 2), /lists 1 EP ranks, the group has 2/);
  });
});
