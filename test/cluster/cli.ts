#!/usr/bin/env node
// `make cluster-up` / `make cluster-down`: a local cluster that outlives the command, named "default" by default.
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { attachCluster, startCluster } from './index.js';
import { startKueue } from './kueue.js';
import { DEFAULT_FLEET, parseFleet } from './fleet.js';
import { removeCluster, stateRoot } from './state.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    fleet: { type: 'string' },
    'runner-nodes': { type: 'string' },
    'real-nodes': { type: 'string' },
    images: { type: 'string' },
    kueue: { type: 'boolean', default: false },
    name: { type: 'string', default: 'default' },
  },
});
const cmd = positionals[0];
const name = values.name!;

async function main(): Promise<void> {
  if (cmd === 'up') {
    const fleet = values.fleet ? parseFleet(values.fleet) : DEFAULT_FLEET;
    const runners = Number(values['runner-nodes'] ?? 2);
    if (!Number.isInteger(runners) || runners < 0) throw new Error(`--runner-nodes ${values['runner-nodes']}: expected a whole number >= 0`);
    const real = Number(values['real-nodes'] ?? 0);
    if (!Number.isInteger(real) || real < 0) throw new Error(`--real-nodes ${values['real-nodes']}: expected a whole number >= 0`);
    const images = (values.images ?? '').split(',').filter(Boolean);
    const t0 = Date.now();
    const c = await startCluster({ fleet, runnerNodes: runners, realNodes: real, images, name, owner: 'cli', timeoutMs: 180_000 });
    // Kueue's controller-manager outlives this command like the rest (its pid file is in the cluster's state).
    const kueue = values.kueue ? await startKueue(c) : undefined;
    const gpus = fleet.spines * fleet.leavesPerSpine * fleet.nodesPerLeaf * fleet.gpusPerNode;
    console.log(`cluster "${name}" up in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${c.server}`);
    console.log(`  simulated fleet ${fleet.spines}x${fleet.leavesPerSpine}x${fleet.nodesPerLeaf}x${fleet.gpusPerNode} (${gpus} GPUs), real nodes: ${c.realNodes.join(', ') || 'none'}, runner nodes: ${c.runnerNodes.join(', ') || 'none'}`);
    if (kueue) console.log(`  Kueue ${kueue.version}, webhooks at ${kueue.webhookUrl}`);
    console.log(`  logs: ${join(c.stateDir, 'logs')}`);
    console.log(`export KUBECONFIG=${c.kubeconfigPath}`);
    console.log(`export PATH=${c.binDir}:$PATH`);
  } else if (cmd === 'down') {
    const dir = join(stateRoot(), name);
    if (!existsSync(dir)) { console.log(`no cluster "${name}" running`); return; }
    await removeCluster(dir);
    console.log(`cluster "${name}" stopped and its state removed`);
  } else if (cmd === 'env') {
    const c = attachCluster(name);
    console.log(`export KUBECONFIG=${c.kubeconfigPath}\nexport PATH=${c.binDir}:$PATH`);
  } else {
    console.error('usage: cli.js up [--fleet SxLxNxG] [--real-nodes N] [--images A.tar,B.tar] [--runner-nodes N] [--kueue] [--name NAME] | down [--name NAME] | env [--name NAME]');
    process.exit(2);
  }
}

main().catch((err: unknown) => {
  console.error(`cluster ${cmd}: ${(err as Error).message}`);
  process.exit(1);
});
