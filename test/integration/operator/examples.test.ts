// Every resource under examples/ and every moe.io resource in README.md, applied as written to a real API server with
// the operator running in-process under the chart's RBAC, reaches the phase it is meant to reach here:
//   - ClusterTopologies are accepted, and `kubectl get clustertopology` shows all their levels (LEVELS column);
//   - other objects (the demo's PersistentVolume and claim) are accepted, the claim Bound;
//   - MoETrainingJobs run (Running) on a simulated KWOK fleet big enough for the 2048-GPU DeepSeek-V3 layout;
//     examples/demo/tiny-8-ranks.yaml runs on a KWOK node given the labels of its topology's nodeSelector (the
//     demo's real nodes; its pods do not train here, the demo and test/e2e train it for real);
//   - InferenceDeployments are valid and wait for their model (WaitingForModel): serving needs a trained export,
//     which the e2e serving test and the demo produce.
// The fleet: 2 spines × 4 leaves × 34 nodes × 8 GPUs = 272 nodes; 256 for the 671B layout, the rest for the small jobs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TopologyController } from '../../../operator/controllers/topology/setup.js';
import { silentLogger } from '../../../operator/kube/log.js';
import { OperatorMetrics } from '../../../operator/kube/metrics.js';
import { FIELD_MANAGER } from '../../../operator/api/constants.js';
import { KubeClient } from '../../../operator/kube/rest.js';
import { startCluster, type LocalCluster } from '../../cluster/index.js';
import { exampleResources, type ExampleResource } from '../../util/examples.js';
import { eventually } from '../../util/poll.js';
import { DEFAULT_TOPOLOGY, ROOT, applyYaml, chartRbacKubeConfig, installCrds, json, startOperator } from './harness.js';

let c: LocalCluster;
let op: Awaited<ReturnType<typeof startOperator>>;
let topo: TopologyController;
const resources = exampleResources(ROOT);
/** examples/ into the demo's namespace (checkpoints.yaml names it), README snippets into another: they reuse names. */
const EXAMPLES_NS = 'moe-demo';
const nsOf = (r: ExampleResource) => r.doc.metadata.namespace ?? (r.source === 'README.md' ? 'readme' : EXAMPLES_NS);
const CLUSTER_SCOPED = new Set(['ClusterTopology', 'PersistentVolume', 'StorageClass']);
const isMoe = (r: ExampleResource) => r.doc.apiVersion.startsWith('moe.io/');
/** The node that stands in for the demo's real nodes (the last of the fleet, so the big layout keeps whole leaves). */
const STAND_IN = 'gpu-s1-l3-n33';
const of = (kind: string, name: string, source?: string) => {
  const r = resources.find((x) => x.doc.kind === kind && x.doc.metadata.name === name && (!source || x.source === source));
  assert.ok(r, `${kind} ${name} in ${source ?? 'the examples'}`);
  return r;
};
const apply = (r: ExampleResource) => (CLUSTER_SCOPED.has(r.doc.kind) ? applyYaml(c, r.text) : c.kubectl(['-n', nsOf(r), 'apply', '-f', '-'], r.text));
const cond = (o: any, type: string) => o.status?.conditions?.find((x: any) => x.type === type);

async function phase(r: ExampleResource, want: string, timeoutMs = 120_000): Promise<any> {
  const kind = r.doc.kind === 'MoETrainingJob' ? 'mtj' : 'inferencedeployment';
  return eventually(
    async () => {
      const o = await json(c, ['-n', nsOf(r), 'get', kind, r.doc.metadata.name]);
      assert.notEqual(cond(o, 'Valid')?.status, 'False', `${r.source}: ${r.doc.kind} ${r.doc.metadata.name} is Invalid: ${cond(o, 'Valid')?.message}`);
      return o.status?.phase === want ? o : false;
    },
    { timeoutMs, what: `${r.source}: ${r.doc.kind} ${r.doc.metadata.name} ${want}` },
  );
}

/** `kubectl get clustertopology` as a person reads it: column name → value, per row. */
async function topologyTable(): Promise<Array<Record<string, string>>> {
  const lines = (await c.kubectl(['get', 'clustertopology'])).trimEnd().split('\n');
  const header = lines[0]!;
  const starts = [...header.matchAll(/\S+/g)].map((m) => ({ name: m[0], at: m.index! }));
  return lines.slice(1).map((l) => Object.fromEntries(starts.map((s, i) => [s.name, l.slice(s.at, starts[i + 1]?.at ?? l.length).trim()])));
}

before(async () => {
  c = await startCluster({ fleet: { spines: 2, leavesPerSpine: 4, nodesPerLeaf: 34, gpusPerNode: 8 }, runnerNodes: 0 });
  await installCrds(c);
  await applyYaml(c, DEFAULT_TOPOLOGY);
  for (const ns of [EXAMPLES_NS, 'readme']) await c.kubectl(['create', 'namespace', ns]);
  // One node carries the labels of every example topology's nodeSelector (the demo's real nodes).
  const labels = resources.filter((r) => r.doc.kind === 'ClusterTopology').flatMap((r) => Object.entries<string>(r.doc.spec?.nodeSelector ?? {}));
  if (labels.length) await c.kubectl(['label', 'node', STAND_IN, ...labels.map(([k, v]) => `${k}=${v}`)]);
  const kc = await chartRbacKubeConfig(c);
  op = await startOperator(kc, { infd: true, eval: true });
  topo = new TopologyController({ kc, client: new KubeClient(kc, FIELD_MANAGER), metrics: new OperatorMetrics(false), log: silentLogger() });
  await topo.sync();
  topo.run();
});

after(async () => {
  await topo?.stop();
  await op?.stop();
  await c?.stop();
});

describe('examples and README resources on a real API server', () => {
  test('ClusterTopologies are accepted and `kubectl get clustertopology` lists every level, fastest first', async () => {
    const topologies = resources.filter((r) => r.doc.kind === 'ClusterTopology');
    assert.ok(topologies.some((r) => r.source === 'examples/cluster-topology.yaml'), 'examples/cluster-topology.yaml');
    for (const r of topologies) await apply(r);
    const want = new Map([['default', 'nvlink,host,leaf,spine'], ...topologies.map((r) => [r.doc.metadata.name, r.doc.spec.levels.map((l: { name: string }) => l.name).join(',')] as [string, string])]);
    assert.equal(want.get('h800-ib'), 'nvlink,host,leaf,spine');
    const rows = await eventually(
      async () => {
        const t = await topologyTable();
        return [...want].every(([n, levels]) => t.find((row) => row.NAME === n)?.LEVELS === levels) ? t : false;
      },
      { what: `LEVELS ${JSON.stringify([...want])}` },
    );
    assert.ok(rows.every((r) => r['GPUS/NODE'] === '8'), JSON.stringify(rows));
    // A changed spec shows in the column: the operator follows spec.levels.
    await c.kubectl(['patch', 'clustertopology', 'h800-ib', '--type=json', '-p', '[{"op":"remove","path":"/spec/levels/3"}]']);
    await eventually(async () => (await topologyTable()).find((r) => r.NAME === 'h800-ib')?.LEVELS === 'nvlink,host,leaf' || false, { what: 'LEVELS after removing the spine level' });
  });

  test('other objects (the demo\'s storage) are accepted; a claim is Bound', async () => {
    const others = resources.filter((r) => !isMoe(r));
    for (const r of others) await apply(r);
    for (const r of others.filter((x) => x.doc.kind === 'PersistentVolumeClaim')) {
      await eventually(async () => (await json(c, ['-n', nsOf(r), 'get', 'pvc', r.doc.metadata.name])).status?.phase === 'Bound' || false, { what: `${r.source}: claim ${r.doc.metadata.name} Bound` });
    }
  });

  test('examples/demo/tiny-8-ranks.yaml is planned onto the node its topology selects and Running', async () => {
    const r = of('MoETrainingJob', 'tiny-8-ranks');
    await apply(r);
    const j = await phase(r, 'Running');
    assert.equal(j.status.plan.worldSize, 8);
    const nodes = (await json<{ items: any[] }>(c, ['-n', nsOf(r), 'get', 'pods', '-l', 'moe.io/job-name=tiny-8-ranks'])).items.map((p) => p.spec.nodeName);
    assert.deepEqual([...new Set(nodes)], [STAND_IN]);
  });

  test('examples/deepseek-v3-671b.yaml: 256 pods × 8 GPUs planned and Running on the simulated fleet', async () => {
    const r = of('MoETrainingJob', 'deepseek-v3-671b');
    await apply(r);
    const j = await phase(r, 'Running', 240_000);
    assert.equal(j.status.plan.worldSize, 2048);
    assert.equal(j.status.plan.pods, 256);
  });

  test('examples/tiny-job.yaml and the README MoETrainingJob are valid and Running', async () => {
    const jobs = resources.filter((r) => r.doc.kind === 'MoETrainingJob' && r.doc.metadata.name === 'tiny');
    assert.deepEqual(jobs.map((r) => r.source).sort(), ['README.md', 'examples/tiny-job.yaml']);
    for (const r of jobs) await apply(r);
    for (const r of jobs) {
      const j = await phase(r, 'Running');
      assert.equal(cond(j, 'Valid')?.status, 'True');
      assert.equal(j.status.plan.worldSize, 16);
    }
  });

  test('examples/sft-job.yaml (training.mode sft) is valid and waits for the job it starts from (InitSourceNotReady)', async () => {
    const r = of('MoETrainingJob', 'tiny-sft', 'examples/sft-job.yaml');
    await apply(r);
    // The tiny job it initialises from (applied above) runs but never succeeds here: no runner executes the pods.
    const j = await eventually(async () => {
      const o = await json(c, ['-n', nsOf(r), 'get', 'mtj', 'tiny-sft']);
      return o.status?.conditions?.some((x: any) => x.reason === 'InitSourceNotReady') ? o : false;
    }, { what: 'tiny-sft waiting for MoETrainingJob tiny (InitSourceNotReady)' });
    assert.notEqual(cond(j, 'Valid')?.status, 'False', cond(j, 'Valid')?.message);
    assert.equal(j.spec.training.mode, 'sft');
    assert.deepEqual(j.spec.training.sft, { epochs: 2, packing: true });
    assert.match(JSON.stringify(j.status.conditions), /MoETrainingJob tiny is \w+; waiting until it has Succeeded/);
  });

  test('examples/grpo-job.yaml (training.mode grpo, rule and judge rewards) is valid and waits for the SFT job it starts from', async () => {
    for (const name of ['tiny-grpo', 'tiny-grpo-judge']) {
      const r = of('MoETrainingJob', name, 'examples/grpo-job.yaml');
      await apply(r);
      const j = await eventually(async () => {
        const o = await json(c, ['-n', nsOf(r), 'get', 'mtj', name]);
        return o.status?.conditions?.some((x: any) => x.reason === 'InitSourceNotReady') ? o : false;
      }, { what: `${name} waiting for MoETrainingJob tiny-sft (InitSourceNotReady)` });
      assert.notEqual(cond(j, 'Valid')?.status, 'False', cond(j, 'Valid')?.message);
      assert.equal(j.spec.training.mode, 'grpo');
      assert.equal(j.spec.data.format, 'prompts');
    }
    const judged = await json(c, ['-n', EXAMPLES_NS, 'get', 'mtj', 'tiny-grpo-judge']);
    assert.deepEqual(judged.spec.training.grpo.rewards.map((x: any) => x.type), ['judge', 'code']);
    assert.equal(judged.spec.training.grpo.rewards[0].judge.inferenceDeployment, 'tiny-serve');
  });

  test('InferenceDeployments (examples/demo/tiny-serve.yaml, README) are valid and wait for their training job', async () => {
    const deps = resources.filter((r) => r.doc.kind === 'InferenceDeployment');
    assert.deepEqual(deps.map((r) => r.source).sort(), ['README.md', 'examples/demo/tiny-serve.yaml']);
    for (const r of deps) await apply(r);
    for (const r of deps) {
      const d = await phase(r, 'WaitingForModel');
      assert.equal(cond(d, 'Valid')?.status, 'True');
      assert.equal(cond(d, 'ModelReady')?.status, 'False');
    }
  });

  test('MoEEvaluations (examples/evaluation.yaml, README) are valid: a served target waits for its deployment, a training target follows its job', async () => {
    const evs = resources.filter((r) => r.doc.kind === 'MoEEvaluation');
    assert.deepEqual(evs.map((r) => `${r.source}:${r.doc.metadata.name}`).sort(), ['README.md:tiny-every-2', 'examples/evaluation.yaml:tiny-8-ranks-every-2', 'examples/evaluation.yaml:tiny-serve-eval']);
    for (const r of evs) await apply(r);
    for (const r of evs) {
      const o = await eventually(async () => {
        const x = await json(c, ['-n', nsOf(r), 'get', 'moeeval', r.doc.metadata.name]);
        return cond(x, 'TargetReady') ? x : false;
      }, { what: `${r.source}: MoEEvaluation ${r.doc.metadata.name} TargetReady` });
      assert.equal(cond(o, 'Valid')?.status, 'True', `${r.source}: ${cond(o, 'Valid')?.message}`);
      if (r.doc.spec.target.inferenceDeployment) {
        // Its deployment waits for a trained model here: the evaluation waits for the deployment.
        assert.equal(o.status.phase, 'Pending');
        assert.equal(cond(o, 'TargetReady').reason, 'WaitingForDeployment');
      } else {
        // The job runs (its pods do not train here): the evaluation waits for its checkpoints.
        assert.equal(o.status.phase, 'Running');
        assert.equal(cond(o, 'Complete').reason, 'WaitingForCheckpoints');
      }
    }
  });

  test('every example and README resource was applied by a test above', async () => {
    const kinds: Record<string, string> = {
      MoETrainingJob: 'mtj', InferenceDeployment: 'inferencedeployment', ClusterTopology: 'clustertopology',
      PersistentVolume: 'pv', PersistentVolumeClaim: 'pvc', MoEEvaluation: 'moeeval', ConfigMap: 'configmap',
    };
    for (const r of resources) {
      const kind = kinds[r.doc.kind];
      assert.ok(kind, `${r.source}: a test for kind ${r.doc.kind}`);
      await c.kubectl([...(CLUSTER_SCOPED.has(r.doc.kind) ? [] : ['-n', nsOf(r)]), 'get', kind, r.doc.metadata.name]);
    }
  });
});
