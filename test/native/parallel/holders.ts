// Checks on what the training workers report about the parameters each rank holds.
import assert from 'node:assert/strict';

/** Every parameter a rank reports must equal, bit for bit, the same parameter on every other rank holding it. */
export function assertHoldersAgree(outs: Array<{ rank: number; sums: Record<string, number> }>): void {
  const first = new Map<string, { rank: number; sum: number }>();
  for (const o of outs) {
    for (const [name, sum] of Object.entries(o.sums)) {
      const f = first.get(name);
      if (!f) first.set(name, { rank: o.rank, sum });
      else assert.equal(sum, f.sum, `${name}: rank ${o.rank} holds ${sum}, rank ${f.rank} holds ${f.sum}`);
    }
  }
}
