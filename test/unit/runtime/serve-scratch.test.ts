// The forward's scratch arena (serve/engine/scratch.ts): arrays taken in one round never overlap, a round that
// outgrows the buffer gets fresh arrays and the next round reuses one buffer of that size, and outside inArena the
// helpers hand out new arrays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Arena, inArena, scratchF32, scratchU8 } from '../../../runtime/src/serve/engine/scratch.js';

test('arena arrays of one round are disjoint; the buffer grows to the last round\'s need and is reused after reset', () => {
  const a = new Arena();
  a.reset();
  const first = [a.f32(10), a.u8(7), a.f32(100)];
  // The empty buffer cannot hold them: each is a fresh array.
  assert.ok(first.every((x) => x.byteOffset === 0));
  a.reset();
  const x = a.f32(10), y = a.u8(7), z = a.f32(100);
  assert.equal(x.buffer, y.buffer);
  assert.equal(y.buffer, z.buffer);
  const spans = [x, y, z].map((v) => [v.byteOffset, v.byteOffset + v.byteLength]).sort((p, q) => p[0] - q[0]);
  for (let i = 1; i < spans.length; i++) assert.ok(spans[i][0] >= spans[i - 1][1], `overlap: ${JSON.stringify(spans)}`);
  x.fill(1);
  z.fill(2);
  assert.ok(y.every((v) => v === 0) && x.every((v) => v === 1));
  a.reset();
  // Reused: the same buffer and offsets for the same requests.
  const x2 = a.f32(10);
  assert.equal(x2.buffer, x.buffer);
  assert.equal(x2.byteOffset, x.byteOffset);
});

test('scratchF32/scratchU8 take from the arena only inside inArena, and inArena restores the previous one', () => {
  const a = new Arena();
  a.reset();
  inArena(a, () => [scratchF32(64), scratchU8(8)]);
  a.reset();
  const inside = inArena(a, () => {
    const v = scratchF32(64);
    const nested = inArena(undefined, () => scratchU8(8));
    assert.notEqual(nested.buffer, v.buffer);
    return [v, scratchU8(8)];
  });
  assert.equal(inside[0].buffer, inside[1].buffer);
  const outside = scratchF32(64);
  assert.notEqual(outside.buffer, inside[0].buffer);
  assert.throws(() => inArena(a, () => { throw new Error('boom'); }), /boom/);
  assert.notEqual(scratchF32(4).buffer, inside[0].buffer);
});
