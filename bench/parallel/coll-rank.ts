// One rank of the collectives benchmark: allreduce (float32 sum) and alltoallv (equal splits) over the world group,
// BENCH_SIZES bytes each, BENCH_ITERS timed iterations after 2 warm-ups; prints median seconds per size (rank 0).
import { initDistributed, distOptionsFromEnv } from '../../runtime/src/comm/init.js';
import { readDistEnv } from '../../runtime/src/comm/pod-env.js';

const sizes = (process.env.BENCH_SIZES ?? '65536,1048576,16777216').split(',').map(Number);
const iters = Number(process.env.BENCH_ITERS ?? 10);
const dist = await initDistributed(readDistEnv(process.env), distOptionsFromEnv());
const w = dist.world;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const out: Record<string, Record<string, number>> = { allreduce: {}, alltoallv: {} };
for (const bytes of sizes) {
  const buf = new Float32Array(bytes / 4).fill(1);
  const times: number[] = [];
  for (let i = 0; i < iters + 2; i++) {
    await w.barrier();
    const t0 = performance.now();
    await w.allreduce(buf);
    if (i >= 2) times.push((performance.now() - t0) / 1000);
  }
  out.allreduce[bytes] = median(times);
  const input = new Uint8Array(bytes), output = new Uint8Array(bytes);
  const split = new Array<number>(w.size).fill(bytes / w.size);
  const t2: number[] = [];
  for (let i = 0; i < iters + 2; i++) {
    await w.barrier();
    const t0 = performance.now();
    await w.alltoallv(input, split, output, split);
    if (i >= 2) t2.push((performance.now() - t0) / 1000);
  }
  out.alltoallv[bytes] = median(t2);
}
if (dist.rank === 0) process.stdout.write(JSON.stringify(out) + '\n');
await dist.shutdown();
