// Every parallelism validation message (field + fix), the rank order, stages, experts and peers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildRankTable, buildStages, coordsOf, expertsByEpRank, heldStages, rankOf, rankPeers, stageLayers, validateParallelism,
} from '../../../operator/plan/parallelism.js';
import { PRESETS } from '../../../operator/plan/presets.js';
import type { ModelConfig, ParallelismSpec } from '../../../operator/plan/types.js';

const V3 = PRESETS['deepseek-v3-671b']!;
const TINY = PRESETS['deepseek-v3-tiny']!;

function par(o: { stages?: number; schedule?: ParallelismSpec['pipeline']['schedule']; mb?: number; expert?: number; data?: number; tensor?: number; pod?: number } = {}): ParallelismSpec {
  return {
    pipeline: { stages: o.stages ?? 16, schedule: o.schedule ?? 'DualPipe', microBatches: o.mb ?? 40 },
    expert: o.expert ?? 64,
    data: o.data ?? 2,
    tensor: o.tensor ?? 1,
    gpusPerPod: o.pod ?? 8,
  };
}

test('the DeepSeek-V3 layout (PP16 DualPipe × EP64 × DP2) is valid on 2048 GPUs', () => {
  assert.deepEqual(validateParallelism(V3, par(), { gpusPerNode: 8, usableGpus: 2048 }), []);
});

const CASES: { name: string; model?: ModelConfig; p: ParallelismSpec; gpn?: number; usable?: number; field: string; msg: RegExp }[] = [
  { name: 'DualPipe with odd stages', p: par({ stages: 3, mb: 8 }), field: 'spec.parallelism.pipeline.stages', msg: /DualPipe needs an even number of pipeline stages.*got 3; use 4 or 2/ },
  { name: 'DualPipe with odd micro-batches', p: par({ mb: 41 }), field: 'spec.parallelism.pipeline.microBatches', msg: /even number of micro-batches ≥ 2 × stages \(32\).*got 41, use 42/ },
  { name: 'DualPipe with too few micro-batches', p: par({ mb: 16 }), field: 'spec.parallelism.pipeline.microBatches', msg: /≥ 2 × stages \(32\).*got 16, use 32/ },
  { name: 'DualPipeV with too few micro-batches', p: par({ schedule: 'DualPipeV', stages: 8, mb: 15 }), field: 'spec.parallelism.pipeline.microBatches', msg: /DualPipeV needs micro-batches ≥ 2 × stages \(16\), got 15/ },
  { name: '1F1B with fewer micro-batches than stages', p: par({ schedule: '1F1B', mb: 8 }), field: 'spec.parallelism.pipeline.microBatches', msg: /1F1B needs micro-batches ≥ stages \(16\) to fill the pipeline, got 8/ },
  { name: 'more stages than layers', model: TINY, p: par({ stages: 6, mb: 12, expert: 4, data: 1 }), field: 'spec.parallelism.pipeline.stages', msg: /has 4 layers but DualPipe with 6 stages cuts it into 6 pieces.*at most 4 stages/ },
  { name: 'DualPipeV cuts into 2·PP pieces', model: TINY, p: par({ schedule: 'DualPipeV', stages: 3, mb: 6, expert: 4, data: 1 }), field: 'spec.parallelism.pipeline.stages', msg: /into 6 pieces.*at most 2 stages/ },
  { name: 'experts not divisible by EP', p: par({ expert: 48 }), field: 'spec.parallelism.expert', msg: /n_routed_experts \(256\) must be divisible by expert \(48\).*such as 32/ },
  { name: 'EP group not filling whole nodes', p: par({ expert: 64, pod: 4 }), gpn: 12, field: 'spec.parallelism.expert', msg: /must fill whole nodes: expert × tensor \(64\) must be a multiple of GPUs per node \(12\)/ },
  { name: 'expert groups vs EP nodes', p: par({ expert: 128, data: 1 }), field: 'spec.parallelism.expert', msg: /spans 16 nodes, so n_group \(8\) must be a multiple of 16; use expert = 64/ },
  { name: 'tensor not dividing heads', p: par({ tensor: 3, expert: 64, pod: 1 }), gpn: 8, field: 'spec.parallelism.tensor', msg: /num_attention_heads \(128\) must be divisible by tensor \(3\)/ },
  { name: 'tensor wider than a node', p: par({ tensor: 16, expert: 1, data: 1 }), field: 'spec.parallelism.tensor', msg: /must stay inside one node \(8 GPUs\)/ },
  { name: 'world not divisible by pod size', model: TINY, p: par({ stages: 1, schedule: '1F1B', mb: 1, expert: 1, data: 3, pod: 2 }), field: 'spec.parallelism.gpusPerPod', msg: /world size 3 .* must be divisible by gpusPerPod \(2\)/ },
  { name: 'pod larger than a node', p: par({ pod: 16 }), field: 'spec.parallelism.gpusPerPod', msg: /a pod runs on one node: gpusPerPod \(16\) must not exceed GPUs per node \(8\)/ },
  { name: 'pod size not dividing the node', p: par({ pod: 3, expert: 64, data: 3 }), field: 'spec.parallelism.gpusPerPod', msg: /GPUs per node \(8\) must be divisible by gpusPerPod \(3\).*use 2|use 4/ },
  { name: 'not enough GPUs', p: par(), usable: 1024, field: 'spec.parallelism', msg: /needs 2048 GPUs .* but the fleet has 1024 usable; lower data or add nodes/ },
];

for (const c of CASES) {
  test(`validation: ${c.name} → ${c.field}`, () => {
    const errs = validateParallelism(c.model ?? V3, c.p, { gpusPerNode: c.gpn ?? 8, ...(c.usable !== undefined ? { usableGpus: c.usable } : {}) });
    const e = errs.find((x) => x.field === c.field && c.msg.test(x.message));
    assert.ok(e, JSON.stringify(errs, null, 1));
  });
}

test('rank order: rank = ((dp·PP + pp)·EP + ep)·TP + tp, round trip', () => {
  const p = par({ stages: 4, expert: 4, data: 2, tensor: 2, mb: 8 });
  assert.equal(rankOf({ pp: 1, ep: 2, dp: 1, tp: 1 }, p), ((1 * 4 + 1) * 4 + 2) * 2 + 1);
  for (let r = 0; r < 64; r++) assert.equal(rankOf(coordsOf(r, p), p), r);
  const t = buildRankTable(p);
  assert.equal(t.pp.length, 64);
  assert.deepEqual([t.pp[9], t.ep[9], t.dp[9], t.tp[9], t.pod[9], t.local[9]], [1, 0, 0, 1, 1, 1]);
});

test('stage split: 61 layers into 16 stages, the extra layers in the middle', () => {
  const s = stageLayers(61, 16);
  assert.deepEqual(s.map(([a, b]) => b - a), [3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 3, 3]);
  assert.deepEqual(s[0], [0, 3]);
  assert.deepEqual(s[15], [58, 61]);
});

test('held stages: DualPipe r and PP−1−r, DualPipeV r and 2PP−1−r, 1F1B r', () => {
  assert.deepEqual(heldStages(par({ stages: 8, mb: 16 }), 2), [2, 5]);
  assert.deepEqual(heldStages(par({ schedule: 'DualPipeV', stages: 8, mb: 16 }), 2), [2, 13]);
  assert.deepEqual(heldStages(par({ schedule: '1F1B', stages: 8, mb: 16 }), 2), [2]);
  const st = buildStages(V3, par());
  assert.equal(st[0]!.embedding && st[0]!.head, true, 'rank 0 holds stage 0 and stage 15 under DualPipe');
  assert.equal(st[7]!.embedding || st[7]!.head, false);
});

test('experts per EP rank are contiguous runs', () => {
  const e = expertsByEpRank(V3, par());
  assert.equal(e.length, 64);
  assert.deepEqual(e[1], [4, 5, 6, 7]);
});

test('peers of a rank', () => {
  const p = par({ stages: 4, expert: 4, data: 2, tensor: 1, mb: 8 });
  const peers = rankPeers(5, p); // pp 1, ep 1, dp 0
  assert.equal(peers.prev, 1);
  assert.equal(peers.next, 9);
  assert.deepEqual(peers.expert, [4, 5, 6, 7]);
  assert.deepEqual(peers.expertData, [5, 21]);
  assert.deepEqual(peers.data, [4, 5, 6, 7, 20, 21, 22, 23]);
  assert.equal(rankPeers(1, p).prev, null);
});
