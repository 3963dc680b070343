// Per-rank compute order of the schedule generators against expectations written out by hand from the 8-step
// description of DualPipe.step (REFERENCE.md §4) and the 1F1B rule, not produced by the generators.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dualPipeSchedule } from '../../../operator/plan/schedule/dualpipe.js';
import { dualPipeVSchedule } from '../../../operator/plan/schedule/dualpipev.js';
import { oneF1BSchedule } from '../../../operator/plan/schedule/onef1b.js';
import { computeOrder, opText } from '../../../operator/plan/schedule/ops.js';

const split = (s: string) => s.trim().split(/\s+/);

test('DualPipe PP=4, C=8: every rank runs the hand-derived order', () => {
  // H=2. Rank 0: h=0 → step1 ×2, step2 ×1, step3 ×1, step4 ×1, step5 ×1, step6 ×1 (W deferred from B0), step7 ×1, step8 ×1.
  const rank0 = 'F0.0 F0.1 F0.2 F1.0 B1.0w W1.0 F1.1 F0.3+B1.1 F1.2+B0.0 B1.2 F1.3+B0.1 B1.3 B0.2w W0.2 B0.3w W0.3';
  // Rank 1: middle rank, h=1 → step2 ×2, step4 ×2 with the first F0/B1 not overlapped, step6 ×2 deferring from i=1.
  const rank1 = 'F0.0 F1.0 F0.1 F1.1 F0.2 B1.0 F1.2+B0.0 F0.3+B1.1 F1.3+B0.1 B1.2 B0.2 B1.3w B0.3w W1.3 W0.3';
  // Ranks 2 and 3 mirror ranks 1 and 0 with the directions swapped (phase 0 is direction 1 in the second half).
  const rank2 = 'F1.0 F0.0 F1.1 F0.1 F1.2 B0.0 F0.2+B1.0 F1.3+B0.1 F0.3+B1.1 B0.2 B1.2 B0.3w B1.3w W0.3 W1.3';
  const rank3 = 'F1.0 F1.1 F1.2 F0.0 B0.0w W0.0 F0.1 F1.3+B0.1 F0.2+B1.0 B0.2 F0.3+B1.1 B0.3 B1.2w W1.2 B1.3w W1.3';
  [rank0, rank1, rank2, rank3].forEach((want, r) => assert.deepEqual(computeOrder(dualPipeSchedule(r, 4, 8)), split(want), `rank ${r}`));
});

test('DualPipe PP=4, C=8 rank 0 sends and receives in the reference order around its first ops', () => {
  const ops = dualPipeSchedule(0, 4, 8).map(opText);
  // Step 1: F0.0 (no receive on the first stage), its send is queued after it; step 2 receives F1.0 from rank 1.
  assert.deepEqual(ops.slice(0, 8), ['F0.0', '>F0.0@1', 'F0.1', '>F0.1@1', 'F0.2', '<F1.0@1', 'F1.0', '>F0.2@1']);
});

test('DualPipeV with 2 ranks and C=4 follows the same engine: rank 0 = DualPipe rank 0 of 4, rank 1 = a middle rank', () => {
  assert.deepEqual(computeOrder(dualPipeVSchedule(0, 2, 4)), split('F0.0 F0.1 F0.2 F1.0 B1.0w W1.0 F1.1 F0.3+B1.1 F1.2+B0.0 B1.2 F1.3+B0.1 B1.3 B0.2w W0.2 B0.3w W0.3'));
  assert.deepEqual(computeOrder(dualPipeVSchedule(1, 2, 4)), split('F0.0 F1.0 F0.1 F1.1 F0.2 B1.0 F1.2+B0.0 F0.3+B1.1 F1.3+B0.1 B1.2 B0.2 B1.3w B0.3w W1.3 W0.3'));
});

test('DualPipeV turns micro-batches around on the last rank without communication', () => {
  const last = dualPipeVSchedule(1, 2, 4).map(opText);
  assert.ok(!last.some((o) => o.startsWith('>F0') || o.startsWith('<F1') || o.startsWith('<B0') || o.startsWith('>B1')), last.join(' '));
});

test('1F1B PP=4, C=8: warm-up PP−1−r forwards, then one forward one backward, then the cool-down backwards', () => {
  assert.deepEqual(computeOrder(oneF1BSchedule(0, 4, 8)), split('F0.0 F0.1 F0.2 F0.3 B0.0 F0.4 B0.1 F0.5 B0.2 F0.6 B0.3 F0.7 B0.4 B0.5 B0.6 B0.7'));
  assert.deepEqual(computeOrder(oneF1BSchedule(3, 4, 8)), split('F0.0 B0.0 F0.1 B0.1 F0.2 B0.2 F0.3 B0.3 F0.4 B0.4 F0.5 B0.5 F0.6 B0.6 F0.7 B0.7'));
});

test('generators reject invalid arguments with messages that name them', () => {
  assert.throws(() => dualPipeSchedule(0, 3, 8), /even number of ranks.*ranks=3/);
  assert.throws(() => dualPipeSchedule(0, 4, 6), /micro-batches ≥ 2·ranks \(8\).*microBatches=6/);
  assert.throws(() => dualPipeSchedule(0, 4, 9), /even number of micro-batches/);
  assert.throws(() => dualPipeSchedule(4, 4, 8), /rank must be in \[0, 4\), got rank=4/);
  assert.throws(() => dualPipeVSchedule(0, 4, 7), /DualPipeV needs micro-batches ≥ 2·ranks \(8\)/);
  assert.throws(() => oneF1BSchedule(0, 4, 3), /1F1B needs micro-batches ≥ ranks \(4\)/);
});
