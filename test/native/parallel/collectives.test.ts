// The Gloo collectives across 3 and 4 local processes: every operation's result checked against values worked out
// here from the inputs the worker uses ((r + 1)·1000 + i at rank r, index i).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { collectivesAvailable } from '../../../runtime/src/comm/collectives-binding.js';
import { launch } from '../../../runtime/src/comm/local-launch.js';
import { workerScript } from './paths.js';
import { need } from '../../util/need.js';

const skip = need(collectivesAvailable(), 'the Gloo collectives addon (runtime/collectives)', 'run `make native`') ? false : 'see the failing prerequisite test';

for (const size of [3, 4]) {
  describe(`collectives over ${size} processes`, { skip }, () => {
    it('allreduce, allgather, alltoallv, reduce-scatter, send/recv and a sub-group give the expected values', async () => {
      const { results } = await launch({ script: workerScript(), worldSize: size, args: ['collectives'], killAfterMs: 60_000 });
      for (const r of results) assert.equal(r.code, 0, `rank ${r.rank} exited ${r.code} ${r.signal ?? ''}: ${r.stderr}`);
      const ranks = Array.from({ length: size }, (_, i) => i);
      // Σ_r ((r+1)·1000 + i) = 1000·size(size+1)/2 + size·i
      const tri = (size * (size + 1)) / 2;
      for (const res of results) {
        const out = JSON.parse(res.stdout.trim().split('\n').pop()!);
        const r = out.rank as number;
        assert.deepEqual(out.allreduce, [1000 * tri, 1000 * tri + size * 999], `allreduce at rank ${r}`);
        assert.deepEqual(out.allgather, ranks.flatMap((q) => [q, q * 10, q * 100]), `allgather at rank ${r}`);
        // from every source q: r + 1 bytes of value 10q + r
        assert.deepEqual(out.alltoallv, ranks.flatMap((q) => Array(r + 1).fill(10 * q + r)), `alltoallv at rank ${r}`);
        const offset = ranks.slice(0, r).reduce((a, q) => a + q + 2, 0);
        const expectRs = Array.from({ length: r + 2 }, (_, k) => 1000 * tri + size * (offset + k));
        assert.deepEqual(out.reduceScatter, expectRs, `reduceScatter at rank ${r}`);
        const prev = (r + size - 1) % size;
        assert.deepEqual(out.ring, [prev, Math.PI * prev], `ring recv at rank ${r}`);
        if (r % 2 === 0) assert.equal(out.evens, ranks.filter((q) => q % 2 === 0).reduce((a, b) => a + b, 0));
        // traffic counters: the ring allreduce of 4000 bytes moves 2(n-1)/n of them
        assert.equal(out.traffic.sent.allreduce, (2 * (size - 1) / size) * 4000);
        assert.equal(out.traffic.calls.barrier, 1);
      }
    });
  });
}
