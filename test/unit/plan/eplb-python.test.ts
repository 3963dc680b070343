// Cross-check: the TypeScript EPLB against the NumPy port of the reference (eplb_ref.py, tensor ops as in
// deepseek-ai/EPLB) on random cases full of ties. Runs through MOE_PYTHON (the Makefile points it at .tools/pyenv).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rng } from '../../../operator/plan/placement/baselines.js';
import { rebalanceExperts } from '../../../operator/plan/eplb.js';
import { pythonWith } from '../../util/python.js';

const root = resolve(fileURLToPath(import.meta.url), '../../../../..');
const script = join(root, 'test/unit/plan/eplb_ref.py');


const SHAPES: [number, number, number, number, number][] = [
  // experts, replicas, groups, nodes, gpus
  [12, 16, 4, 2, 8],
  [16, 24, 4, 2, 4],
  [16, 16, 4, 4, 4],
  [16, 20, 3, 2, 4], // groups % nodes ≠ 0 → global policy
  [32, 48, 8, 4, 16],
  [8, 12, 1, 2, 4], // global
  [64, 72, 8, 2, 8],
];

test('TypeScript EPLB equals the NumPy port of the reference on random tie-heavy and float cases', () => {
  const py = pythonWith(['numpy']);
  const rand = rng(2025);
  const reqs: { load: number[][]; replicas: number; groups: number; nodes: number; gpus: number; kind: string }[] = [];
  for (const [experts, replicas, groups, nodes, gpus] of SHAPES) {
    for (const kind of ['ties', 'floats', 'zeros']) {
      const load = Array.from({ length: 3 }, () =>
        Array.from({ length: experts }, () => (kind === 'ties' ? Math.floor(rand() * 4) : kind === 'zeros' ? 0 : Math.fround(rand() * 1000))),
      );
      reqs.push({ load, replicas, groups, nodes, gpus, kind });
    }
  }
  const r = spawnSync(py, [script], { input: JSON.stringify(reqs), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const want = JSON.parse(r.stdout) as unknown[];
  let n = 0;
  reqs.forEach((q, i) => {
    const got = rebalanceExperts(q.load, q.replicas, q.groups, q.nodes, q.gpus);
    assert.deepEqual(got, want[i], `${q.kind} ${JSON.stringify({ experts: q.load[0]!.length, replicas: q.replicas, groups: q.groups, nodes: q.nodes, gpus: q.gpus })}`);
    n++;
  });
  assert.equal(n, SHAPES.length * 3);
});
