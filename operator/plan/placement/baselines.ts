// Baselines the planner is compared with: a kube-scheduler-like spread (each pod to the emptiest node, ties broken at
// random, as LeastAllocated scoring with random tie-breaking does) and a uniformly random placement.
import type { ClusterModel } from './topology.js';
import type { ParallelismSpec } from '../types.js';

/** Small deterministic PRNG (mulberry32) so baselines are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function capacity(cluster: ClusterModel, p: ParallelismSpec): number[] {
  return cluster.nodes.map((n) => Math.floor(n.gpus / p.gpusPerPod));
}

export function spreadPlacement(cluster: ClusterModel, p: ParallelismSpec, seed = 1): number[] {
  const rand = rng(seed);
  const free = capacity(cluster, p);
  const pods = (p.pipeline.stages * p.expert * p.data * p.tensor) / p.gpusPerPod;
  // Buckets of nodes by free slots; pick uniformly among the emptiest.
  const maxFree = Math.max(0, ...free);
  const buckets: number[][] = Array.from({ length: maxFree + 1 }, () => []);
  free.forEach((f, i) => buckets[f]!.push(i));
  const out: number[] = [];
  let top = maxFree;
  for (let k = 0; k < pods; k++) {
    while (top > 0 && buckets[top]!.length === 0) top--;
    if (top === 0) throw new Error(`spreadPlacement: ${pods} pods do not fit`);
    const b = buckets[top]!;
    const j = Math.floor(rand() * b.length);
    const node = b[j]!;
    b[j] = b[b.length - 1]!;
    b.pop();
    buckets[top - 1]!.push(node);
    out.push(node);
  }
  return out;
}

export function randomPlacement(cluster: ClusterModel, p: ParallelismSpec, seed = 1): number[] {
  const rand = rng(seed);
  const slots: number[] = [];
  capacity(cluster, p).forEach((c, i) => {
    for (let k = 0; k < c; k++) slots.push(i);
  });
  for (let i = slots.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [slots[i], slots[j]] = [slots[j]!, slots[i]!];
  }
  const pods = (p.pipeline.stages * p.expert * p.data * p.tensor) / p.gpusPerPod;
  if (slots.length < pods) throw new Error(`randomPlacement: ${pods} pods do not fit`);
  return slots.slice(0, pods);
}
