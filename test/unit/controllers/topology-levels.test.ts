// ClusterTopology status.levels, the LEVELS printer column: every level name in order, patched only when it differs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { levelNames, topologyStatusPatch } from '../../../operator/controllers/topology/levels.js';

const spec = (...names: string[]) => ({ levels: names.map((name) => ({ name, nodeLabel: `l/${name}`, gbpsPerGpu: 1 })) });

test('all level names, fastest first, comma-separated', () => {
  assert.equal(levelNames(spec('nvlink', 'host', 'leaf', 'spine')), 'nvlink,host,leaf,spine');
  assert.equal(levelNames(spec('nvlink')), 'nvlink');
});

test('a patch only when status.levels differs from the spec', () => {
  assert.deepEqual(topologyStatusPatch({ spec: spec('nvlink', 'host') }), { status: { levels: 'nvlink,host' } });
  assert.deepEqual(topologyStatusPatch({ spec: spec('nvlink', 'host'), status: { levels: 'nvlink,host,leaf' } }), { status: { levels: 'nvlink,host' } });
  assert.equal(topologyStatusPatch({ spec: spec('nvlink', 'host'), status: { levels: 'nvlink,host' } }), undefined);
});
