// EPLB speed: 256 experts × 61 layers in the DeepSeek-V3 prefill layout (288 slots = 256 + 32 redundant, 8 groups,
// 4 nodes, 32 GPUs: hierarchical policy) and a decode-like case whose groups do not divide over the nodes (global
// policy, 288 slots on 144 GPUs). The peer is the NumPy port of the reference (test/unit/plan/eplb_ref.py, tensor
// operations as in deepseek-ai/EPLB) timed in the same run when MOE_PYTHON is set.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { rng } from '../../operator/plan/placement/baselines.js';
import { rebalanceExperts } from '../../operator/plan/eplb.js';
import { medianMs, repoRoot, writeResult } from './common.js';

const rand = rng(42);
const layers = 61;
const experts = 256;
// Skewed loads like real routing statistics: a few hot experts per layer.
const load = Array.from({ length: layers }, () => Array.from({ length: experts }, () => Math.floor(1000 * Math.exp(3 * rand()))));

const cases = [
  { name: 'hierarchical (prefill: 288 slots, 8 groups, 4 nodes, 32 GPUs)', replicas: 288, groups: 8, nodes: 4, gpus: 32 },
  { name: 'global (decode: 288 slots, 8 groups, 3 nodes, 144 GPUs)', replicas: 288, groups: 8, nodes: 3, gpus: 144 },
];

const python = process.env.MOE_PYTHON;
const runs = cases.map((c) => {
  const ts = medianMs(() => rebalanceExperts(load, c.replicas, c.groups, c.nodes, c.gpus), 21, 3);
  let peer: unknown = 'skipped: MOE_PYTHON is not set (make pyenv)';
  if (python) {
    const r = spawnSync(python, [join(repoRoot, 'test/unit/plan/eplb_ref.py'), '--bench', String(c.replicas), String(c.groups), String(c.nodes), String(c.gpus)], {
      input: JSON.stringify(load),
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`python peer failed: ${r.stderr}`);
    peer = JSON.parse(r.stdout);
  }
  console.log(`${c.name}: TypeScript ${ts.medianMs} ms (median of ${ts.runs}); peer ${JSON.stringify(peer)}`);
  return { ...c, layers, experts, typescript: ts, peer };
});
console.log(`wrote ${writeResult('plan-eplb', { target: 'well under 100 ms for 256 experts × 61 layers', runs })}`);
