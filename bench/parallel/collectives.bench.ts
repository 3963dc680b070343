// Collectives benchmark over 2 local ranks: our Gloo addon (runtime/collectives) against torch.distributed's Gloo
// backend (the peer, measured in this run when /usr/bin/python3 has torch), allreduce and alltoallv at 64 KiB,
// 1 MiB and 16 MiB. Writes bench/results/dist-collectives.json with median seconds and bus bandwidth.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from '../../runtime/src/comm/local-launch.js';
import { writeResult } from '../result-file.js';

const WORLD = 2;
const here = path.dirname(fileURLToPath(import.meta.url));
const env = { BENCH_SIZES: '65536,1048576,16777216', BENCH_ITERS: process.env.BENCH_ITERS ?? '10' };

type Times = Record<string, Record<string, number>>;

async function run(command: string | undefined, script: string): Promise<Times> {
  const { results } = await launch({ script, worldSize: WORLD, killAfterMs: 300_000, env, ...(command ? { command } : {}) });
  for (const r of results) if (r.code !== 0) throw new Error(`${script} rank ${r.rank} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(results.find((r) => r.rank === 0)!.stdout.trim().split('\n').pop()!) as Times;
}

function torchPython(): string | undefined {
  for (const py of ['/usr/bin/python3', 'python3', process.env.MOE_PYTHON]) {
    if (py && spawnSync(py, ['-c', 'import torch.distributed as d; assert d.is_gloo_available()'], { stdio: 'ignore' }).status === 0) return py;
  }
  return undefined;
}

// Bus bandwidth as NCCL-tests define it: allreduce moves 2(n-1)/n of the buffer per rank, alltoall (n-1)/n.
function busBw(op: string, bytes: number, s: number): number {
  const f = op === 'allreduce' ? (2 * (WORLD - 1)) / WORLD : (WORLD - 1) / WORLD;
  return (bytes * f) / s / 1e9;
}

function table(t: Times): Record<string, Record<string, { seconds: number; busGBps: number }>> {
  const o: Record<string, Record<string, { seconds: number; busGBps: number }>> = {};
  for (const [op, bySize] of Object.entries(t)) {
    o[op] = {};
    for (const [b, s] of Object.entries(bySize)) o[op][b] = { seconds: s, busGBps: busBw(op, Number(b), s) };
  }
  return o;
}

const ours = table(await run(undefined, path.join(here, 'coll-rank.js')));
const py = torchPython();
const peer = py ? table(await run(py, path.join(here, '../../../bench/parallel/torch_collectives_peer.py'))) : undefined;
const out = {
  world: WORLD, transport: 'Gloo TCP over loopback',
  ours, peer: peer ? { name: 'torch.distributed gloo', results: peer } : { name: 'torch.distributed gloo', skipped: 'no python with torch found' },
};
console.log(JSON.stringify(out, null, 2));
console.log(`wrote ${writeResult('dist-collectives', out)}`);
