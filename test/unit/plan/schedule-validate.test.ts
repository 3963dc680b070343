// The validator and the simulator catch broken schedules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fullSchedule } from '../../../operator/plan/schedule/generate.js';
import { simulateSchedule } from '../../../operator/plan/schedule/simulate.js';
import { validateSchedule } from '../../../operator/plan/schedule/validate.js';
import type { ScheduleOp } from '../../../operator/plan/schedule/ops.js';

const clone = (ops: ScheduleOp[][]) => ops.map((l) => l.map((o) => ({ ...o })));

test('a backward moved before its forward is reported', () => {
  const ops = clone(fullSchedule('1F1B', 2, 2));
  // rank 1: F0.0 B0.0 … → put B0.0 first.
  const last = ops[1]!;
  const bi = last.findIndex((o) => o.kind === 'B');
  const [b] = last.splice(bi, 1);
  last.unshift(b!);
  const v = validateSchedule('1F1B', ops, 2);
  assert.equal(v.ok, false);
  assert.ok(v.errors.some((e) => /backward before its forward/.test(e)), v.errors.join('\n'));
});

test('a send without the matching receive is reported', () => {
  const ops = clone(fullSchedule('1F1B', 2, 2));
  ops[1] = ops[1]!.filter((o, i, all) => !(o.kind === 'recvF' && all.slice(0, i).every((x) => x.kind !== 'recvF')));
  const v = validateSchedule('1F1B', ops, 2);
  assert.equal(v.ok, false);
  assert.ok(v.errors.some((e) => /do not match receives|before receiving its input/.test(e)), v.errors.join('\n'));
});

test('two ranks that both wait for the other first deadlock', () => {
  const ops: ScheduleOp[][] = [
    [{ kind: 'recvB', dir: 0, mb: 0, peer: 1 }, { kind: 'F', dir: 0, mb: 0 }, { kind: 'sendF', dir: 0, mb: 0, peer: 1 }, { kind: 'B', dir: 0, mb: 0, deferW: false }],
    [{ kind: 'recvF', dir: 0, mb: 0, peer: 0 }, { kind: 'F', dir: 0, mb: 0 }, { kind: 'B', dir: 0, mb: 0, deferW: false }, { kind: 'sendB', dir: 0, mb: 0, peer: 0 }],
  ];
  const sim = simulateSchedule(ops, { F: 1, B: 2, W: 1, FB: 3 });
  assert.equal(sim.ok, false);
  if (!sim.ok) assert.match(sim.deadlock, /rank 0 waits/);
});

test('weight gradients out of FIFO order are reported', () => {
  const ops = clone(fullSchedule('ZB1P', 2, 4));
  const ws = ops[0]!.map((o, i) => (o.kind === 'W' ? i : -1)).filter((i) => i >= 0);
  const a = ops[0]![ws[0]!]!;
  ops[0]![ws[0]!] = ops[0]![ws[1]!]!;
  ops[0]![ws[1]!] = a;
  const v = validateSchedule('ZB1P', ops, 4);
  assert.equal(v.ok, false);
  assert.ok(v.errors.some((e) => /FIFO/.test(e)), v.errors.join('\n'));
});
