// The pure rollout/scaling decision, step by step, with a small simulator: deleted gangs vanish, created gangs become
// ready one step later. Bounds are checked against the spec's numbers, not the code's.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decideRollout, type GangView, type RoleRolloutInput } from '../../../operator/controllers/infd/rollout.js';

type Role = 'prefill' | 'decode';
const g = (replica: number, revision: string, ready = true, terminating = false): GangView => ({ replica, revision, ready, terminating });
const input = (role: Role, desired: number, gangs: GangView[], o: Partial<RoleRolloutInput> = {}): RoleRolloutInput => ({ role, desired, revision: 'new', maxSurge: 1, maxUnavailable: 0, gangs, ...o });

/** Runs decisions until stable; returns per step the gangs alive and ready per role. */
function simulate(start: Record<Role, { desired: number; gangs: GangView[] }>, bounds: { maxSurge: number; maxUnavailable: number }) {
  const state = structuredClone(start);
  const trace: Array<Record<Role, { total: number; ready: number; updated: number }>> = [];
  for (let step = 0; step < 100; step++) {
    const d = decideRollout((['prefill', 'decode'] as Role[]).map((r) => input(r, state[r].desired, state[r].gangs, bounds)));
    let acted = false;
    for (const r of ['prefill', 'decode'] as Role[]) {
      // gangs created last step become ready now
      for (const x of state[r].gangs) x.ready = true;
      state[r].gangs = state[r].gangs.filter((x) => !d[r]!.delete.includes(x.replica));
      for (const rep of d[r]!.create) state[r].gangs.push(g(rep, 'new', false));
      acted ||= d[r]!.create.length > 0 || d[r]!.delete.length > 0;
    }
    const snap = {} as Record<Role, { total: number; ready: number; updated: number }>;
    for (const r of ['prefill', 'decode'] as Role[]) {
      snap[r] = { total: state[r].gangs.length, ready: state[r].gangs.filter((x) => x.ready).length, updated: state[r].gangs.filter((x) => x.revision === 'new').length };
    }
    trace.push(snap);
    if (!acted && (['prefill', 'decode'] as Role[]).every((r) => state[r].gangs.every((x) => x.revision === 'new' && x.ready))) return { state, trace };
  }
  throw new Error('rollout did not converge in 100 steps');
}

describe('scaling (no older revision)', () => {
  test('scale up creates the missing gangs at the lowest free indexes, at once, without touching others', () => {
    const d = decideRollout([input('decode', 4, [g(0, 'new'), g(2, 'new')])]);
    assert.deepEqual(d.decode!.create, [1, 3]);
    assert.deepEqual(d.decode!.delete, []);
    assert.equal(d.decode!.rolling, false);
  });

  test('scale down removes whole gangs, highest index first', () => {
    const d = decideRollout([input('decode', 1, [g(0, 'new'), g(1, 'new'), g(4, 'new')])]);
    assert.deepEqual(d.decode!.delete, [4, 1]);
    assert.deepEqual(d.decode!.create, []);
  });

  test('a replica restarting after a failure comes back under its own index once its pods are gone, with no stand-in', () => {
    const draining = decideRollout([input('decode', 2, [g(0, 'new'), g(1, 'new', false, true)], { preferred: [1] })]);
    assert.deepEqual(draining.decode!.create, [], 'no substitute while the old gang drains');
    const gone = decideRollout([input('decode', 3, [g(0, 'new')], { preferred: [2] })]);
    assert.deepEqual(gone.decode!.create, [2, 1], 'own index first, then the lowest free');
  });
});

describe('rolling update', () => {
  test('maxSurge 1, maxUnavailable 0: never more than N+1 gangs, never fewer than N ready, one gang at a time', () => {
    const { trace, state } = simulate({ prefill: { desired: 0, gangs: [] }, decode: { desired: 3, gangs: [g(0, 'old'), g(1, 'old'), g(2, 'old')] } }, { maxSurge: 1, maxUnavailable: 0 });
    assert.ok(trace.every((s) => s.decode.total <= 4), JSON.stringify(trace));
    assert.ok(trace.every((s) => s.decode.ready >= 3), JSON.stringify(trace));
    assert.equal(state.decode.gangs.length, 3);
    assert.ok(state.decode.gangs.every((x) => x.revision === 'new'));
  });

  test('maxSurge 0, maxUnavailable 1: replaces in place, never more than N gangs, at least N−1 ready', () => {
    const { trace } = simulate({ prefill: { desired: 0, gangs: [] }, decode: { desired: 3, gangs: [g(0, 'old'), g(1, 'old'), g(2, 'old')] } }, { maxSurge: 0, maxUnavailable: 1 });
    assert.ok(trace.every((s) => s.decode.total <= 3), JSON.stringify(trace));
    assert.ok(trace.every((s) => s.decode.ready >= 2), JSON.stringify(trace));
  });

  test('the first step of a rollout creates exactly one surge gang and deletes nothing', () => {
    const d = decideRollout([input('decode', 2, [g(0, 'old'), g(1, 'old')])]);
    assert.deepEqual(d.decode, { create: [2], delete: [], rolling: true, updated: 0, ready: 2 });
  });

  test('an unready old gang is removed first: it serves nothing', () => {
    const d = decideRollout([input('decode', 2, [g(0, 'old'), g(1, 'old', false), g(2, 'new')])]);
    assert.deepEqual(d.decode!.delete, [1]);
  });

  test('prefill and decode roll in step: the role ahead waits until the other catches up', () => {
    const d = decideRollout([
      input('prefill', 2, [g(0, 'new'), g(1, 'old')]), // 50% updated
      input('decode', 4, [g(0, 'old'), g(1, 'old'), g(2, 'old'), g(3, 'old')]), // 0% updated
    ]);
    assert.deepEqual(d.prefill!.create, []);
    assert.match(d.prefill!.waiting ?? '', /other role/);
    assert.deepEqual(d.decode!.create, [4]);
    const { trace } = simulate(
      { prefill: { desired: 2, gangs: [g(0, 'old'), g(1, 'old')] }, decode: { desired: 4, gangs: [g(0, 'old'), g(1, 'old'), g(2, 'old'), g(3, 'old')] } },
      { maxSurge: 1, maxUnavailable: 0 },
    );
    // Updated fractions never drift apart by more than one gang of the smaller role (1/2).
    for (const s of trace) assert.ok(Math.abs(s.prefill.updated / 2 - s.decode.updated / 4) <= 0.5 + 1e-9, JSON.stringify(s));
  });
});
