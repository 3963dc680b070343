// Two releases of the chart in one cluster with the real Helm CLI: the cluster-scoped ClusterTopology "default" belongs
// to the release that created it; a second release (or one installed after someone created "default" by hand) leaves
// it alone and says so in its notes, instead of failing with "cannot be imported".
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startCluster, type LocalCluster } from '../../cluster/index.js';
import { eventually } from '../../util/poll.js';
import { DEFAULT_TOPOLOGY, ROOT, applyYaml, installCrds, json } from './harness.js';

const CHART = join(ROOT, 'charts', 'moe-operator');
let c: LocalCluster;

before(async () => {
  c = await startCluster({ fleet: { spines: 1, leavesPerSpine: 1, nodesPerLeaf: 1, gpusPerNode: 8 }, runnerNodes: 0 });
  // As a cluster that already has the CRDs (helm skips crds/ then): each test stands alone.
  await installCrds(c);
});
after(async () => c?.stop());

const holder = async () => (await json(c, ['get', 'clustertopology', 'default'])).metadata.annotations?.['meta.helm.sh/release-name'];
const gone = async () => (await c.kubectl(['get', 'clustertopology', '-o', 'name'])).trim() === '' || false;

test('a second release installs beside the first and leaves the first one\'s ClusterTopology "default" alone', async () => {
  await c.helm(['install', 'moe', CHART, '--namespace', 'moe-system', '--create-namespace', '--wait=false']);
  assert.equal(await holder(), 'moe');
  const second = await c.helm(['install', 'moe2', CHART, '--namespace', 'moe-other', '--create-namespace', '--wait=false']);
  assert.match(second.replace(/\s+/g, ' '), /The ClusterTopology "default" already exists \(held by release moe in namespace moe-system\), so this release left it alone/);
  assert.equal(await holder(), 'moe');
  assert.equal((await json(c, ['-n', 'moe-other', 'get', 'deployment', 'moe2-moe-operator'])).spec.replicas, 1);
  // Upgrades: the holder still manages it (a changed value lands), the other release still leaves it alone.
  await c.helm(['upgrade', 'moe', CHART, '--namespace', 'moe-system', '--set', 'defaultTopology.gpusPerNode=4', '--wait=false']);
  assert.equal((await json(c, ['get', 'clustertopology', 'default'])).spec.gpusPerNode, 4);
  await c.helm(['upgrade', 'moe2', CHART, '--namespace', 'moe-other', '--wait=false']);
  assert.equal(await holder(), 'moe');
  // Uninstalling the second release keeps it; uninstalling its holder removes it.
  await c.helm(['uninstall', 'moe2', '--namespace', 'moe-other']);
  assert.equal((await json(c, ['get', 'clustertopology', 'default'])).spec.gpusPerNode, 4);
  await c.helm(['uninstall', 'moe', '--namespace', 'moe-system']);
  await eventually(gone, { what: 'ClusterTopology default removed with its release' });
});

test('a ClusterTopology "default" created outside Helm is left alone, and the notes say so', async () => {
  await applyYaml(c, DEFAULT_TOPOLOGY.replace('gpusPerNode: 8', 'gpusPerNode: 2'));
  const out = await c.helm(['install', 'moe3', CHART, '--namespace', 'moe-third', '--create-namespace', '--wait=false']);
  assert.match(out.replace(/\s+/g, ' '), /already exists \(held by something other than Helm\)/);
  assert.equal((await json(c, ['get', 'clustertopology', 'default'])).spec.gpusPerNode, 2);
  await c.helm(['uninstall', 'moe3', '--namespace', 'moe-third']);
  assert.equal((await json(c, ['get', 'clustertopology', 'default'])).spec.gpusPerNode, 2);
});
