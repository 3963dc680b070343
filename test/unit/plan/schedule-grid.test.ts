// Invariants over a grid of (ranks, micro-batches) for all four schedules, and the bubble/memory table of
// REFERENCE.md §4 reproduced by the simulator. Bubble = the longest idle time of any rank in one step, with
// durations that satisfy the table's assumption B − W = F (the input-gradient half costs as much as a forward).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fullSchedule } from '../../../operator/plan/schedule/generate.js';
import { simulateSchedule, type Durations } from '../../../operator/plan/schedule/simulate.js';
import { validateSchedule } from '../../../operator/plan/schedule/validate.js';
import type { ScheduleName } from '../../../operator/plan/schedule/ops.js';

function grid(name: ScheduleName): [number, number][] {
  const out: [number, number][] = [];
  for (const ranks of [1, 2, 3, 4, 6, 8, 10, 16]) {
    if (name === 'DualPipe' && (ranks % 2 !== 0)) continue;
    const min = name === '1F1B' || name === 'ZB1P' ? ranks : 2 * ranks;
    for (const c of [min, min + 1, min + 2, min + 6, 3 * min]) {
      if (name === 'DualPipe' && c % 2 !== 0) continue;
      out.push([ranks, c]);
    }
  }
  return out;
}

const NAMES: ScheduleName[] = ['DualPipe', 'DualPipeV', '1F1B', 'ZB1P'];

for (const name of NAMES) {
  test(`${name}: valid (order, matching sends/receives, no deadlock) and complete over the grid`, () => {
    for (const [ranks, c] of grid(name)) {
      const ops = fullSchedule(name, ranks, c);
      const v = validateSchedule(name, ops, c);
      assert.ok(v.ok, `${name} ranks=${ranks} C=${c}: ${v.errors.slice(0, 3).join(' | ')}`);
      const stagesPerRank = name === 'DualPipe' || name === 'DualPipeV' ? 2 : 1;
      const perStage = name === 'DualPipe' ? c / 2 : c;
      ops.forEach((list, r) => {
        let f = 0;
        let b = 0;
        let deferred = 0;
        let w = 0;
        for (const op of list) {
          if (op.kind === 'F') f++;
          if (op.kind === 'B') {
            b++;
            if (op.deferW) deferred++;
          }
          if (op.kind === 'FB') {
            f++;
            b++;
          }
          if (op.kind === 'W') w++;
        }
        assert.equal(f, stagesPerRank * perStage, `${name} ranks=${ranks} C=${c} rank ${r} forwards`);
        assert.equal(b, stagesPerRank * perStage, `${name} ranks=${ranks} C=${c} rank ${r} backwards`);
        assert.equal(w, deferred, `${name} ranks=${ranks} C=${c} rank ${r}: one W per deferred backward`);
      });
    }
  });
}

test('DualPipe: overlapped pairs per rank = 2·(C/2 − PP + h + 1) + (H − h − 1), minus one on the middle ranks', () => {
  for (const [PP, C] of [[4, 8], [8, 16], [8, 24], [6, 20]] as const) {
    const H = PP / 2;
    fullSchedule('DualPipe', PP, C).forEach((ops, r) => {
      const h = Math.min(r, PP - 1 - r);
      const middle = r === H - 1 || r === H;
      const want = 2 * (C / 2 - PP + h + 1) + (H - h - 1) - (middle ? 1 : 0);
      assert.equal(ops.filter((o) => o.kind === 'FB').length, want, `PP=${PP} C=${C} rank ${r}`);
    });
  }
});

const DURATIONS: Durations[] = [
  { F: 10, B: 18, W: 8, FB: 26 },
  { F: 10, B: 20, W: 10, FB: 25 },
  { F: 7, B: 12, W: 5, FB: 15 },
  { F: 4, B: 7, W: 3, FB: 11 },
];

function formula(name: ScheduleName, ranks: number, d: Durations): number {
  switch (name) {
    case '1F1B':
      return (ranks - 1) * (d.F + d.B);
    case 'ZB1P':
      return (ranks - 1) * (d.F + d.B - 2 * d.W);
    case 'DualPipe':
      return (ranks / 2 - 1) * (d.FB + d.B - 3 * d.W);
    case 'DualPipeV': // the table's PP counts stages: 2·ranks
      return ((2 * ranks) / 2 - 1) * (d.FB + d.B - 3 * d.W);
  }
}

for (const name of NAMES) {
  test(`${name}: simulated bubble equals the REFERENCE.md §4 formula`, () => {
    for (const d of DURATIONS) {
      for (const [ranks, c] of grid(name)) {
        if (name === 'DualPipe' && ranks < 2) continue;
        const sim = simulateSchedule(fullSchedule(name, ranks, c), d);
        assert.ok(sim.ok);
        const bubble = Math.max(...sim.ranks.map((r) => r.bubble));
        assert.equal(bubble, formula(name, ranks, d), `${name} ranks=${ranks} C=${c} ${JSON.stringify(d)}`);
      }
    }
  });
}

test('peak activations: 1F1B and ZB1P PP−r, DualPipe PP+1, DualPipeV 2·PP+1 (its table PP counts stages)', () => {
  const d = DURATIONS[0]!;
  for (const ranks of [2, 4, 8]) {
    for (const name of ['1F1B', 'ZB1P'] as const) {
      const sim = simulateSchedule(fullSchedule(name, ranks, 2 * ranks), d);
      assert.ok(sim.ok);
      assert.deepEqual(sim.ranks.map((r) => r.peakActivations), Array.from({ length: ranks }, (_, r) => ranks - r), name);
    }
    const dp = simulateSchedule(fullSchedule('DualPipe', ranks, 2 * ranks), d);
    assert.ok(dp.ok);
    assert.deepEqual(dp.ranks.map((r) => r.peakActivations), new Array(ranks).fill(ranks + 1));
    const dv = simulateSchedule(fullSchedule('DualPipeV', ranks, 2 * ranks), d);
    assert.ok(dv.ok);
    assert.deepEqual(dv.ranks.map((r) => r.peakActivations), new Array(ranks).fill(2 * ranks + 1));
  }
});

test('1F1B step time = (C + PP − 1)(F + B) with no communication latency', () => {
  const d = { F: 3, B: 5, W: 2, FB: 7 };
  const sim = simulateSchedule(fullSchedule('1F1B', 4, 10), d);
  assert.ok(sim.ok);
  assert.equal(sim.stepTime, (10 + 4 - 1) * (3 + 5));
});
