// Speculative decoding in the InferenceDeployment (issue 15 §2), against a real kube-apiserver and the operator:
// the schema refuses a bad spec.roles.*.speculative with messages that name the field, defaults tokens to 1; the
// controller passes the setting to the decode pods only (MOE_SPECULATIVE_METHOD / MOE_SPECULATIVE_TOKENS), marks a
// model without an MTP module Invalid, and puts the decode leaders' reported acceptance into
// status.roles.decode.speculative (reports of pods that are gone do not count).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatLoadReport } from '../../../operator/contract/index.js';
import { PRESETS } from '../../../operator/plan/presets.js';
import { startCluster, type LocalCluster } from '../../cluster/index.js';
import { eventually } from '../../util/poll.js';
import { DEFAULT_TOPOLOGY, applyYaml, chartRbacKubeConfig, installCrds, json, startOperator } from './harness.js';

let c: LocalCluster;
let op: Awaited<ReturnType<typeof startOperator>>;
const NS = 'spec';

function deployment(name: string, decodeExtra: string, opts: { prefillExtra?: string; architecture?: string } = {}): string {
  return `apiVersion: moe.io/v1alpha1
kind: InferenceDeployment
metadata: {name: ${name}, namespace: ${NS}}
spec:
  model:
    checkpoint: {uri: file:///models/tiny}
    architecture: ${opts.architecture ?? '{preset: deepseek-v3-tiny}'}
  roles:
    prefill: {replicas: 1, podsPerReplica: 1, gpusPerPod: 8${opts.prefillExtra ?? ''}}
    decode: {replicas: 1, podsPerReplica: 1, gpusPerPod: 8${decodeExtra}}
  eplb: {intervalSeconds: 0}
  template:
    spec:
      containers:
      - {name: server, image: moe-runtime:test, command: [moe-runtime]}
`;
}

/** Server-side dry run: the object as the API server would store it, or its refusal. */
async function dryRun(manifest: string): Promise<{ obj?: any; error?: string }> {
  try {
    return { obj: JSON.parse(await c.kubectl(['create', '--dry-run=server', '-o', 'json', '-f', '-'], manifest)) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

type Pod = { metadata: { name: string }; spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } };
const pods = async (dep: string, role: string): Promise<Pod[]> => (await json<{ items: Pod[] }>(c, ['-n', NS, 'get', 'pods', '-l', `moe.io/deployment-name=${dep},moe.io/role=${role}`])).items;
const envOf = (p: Pod, name: string) => p.spec.containers[0]!.env.find((e) => e.name === name)?.value;

before(async () => {
  c = await startCluster({ fleet: { spines: 1, leavesPerSpine: 1, nodesPerLeaf: 2, gpusPerNode: 8 }, runnerNodes: 0 });
  await installCrds(c);
  await applyYaml(c, DEFAULT_TOPOLOGY);
  await c.kubectl(['create', 'namespace', NS]);
  op = await startOperator(await chartRbacKubeConfig(c), { infd: true, resyncMs: 1000 });
});

after(async () => {
  await op?.stop();
  await c?.stop();
});

test('the schema refuses a bad speculative setting naming the field, and defaults tokens to 1', async () => {
  assert.match((await dryRun(deployment('s1', ', speculative: {method: eagle}'))).error ?? '', /spec\.roles\.decode\.speculative\.method: Unsupported value: "eagle": supported values: "mtp"/);
  assert.match((await dryRun(deployment('s2', ', speculative: {method: mtp, tokens: 0}'))).error ?? '', /spec\.roles\.decode\.speculative\.tokens: Invalid value: 0: .*greater than or equal to 1/);
  assert.match((await dryRun(deployment('s3', ', speculative: {method: mtp, tokens: 9}'))).error ?? '', /spec\.roles\.decode\.speculative\.tokens: Invalid value: 9: .*less than or equal to 8/);
  assert.match((await dryRun(deployment('s4', ', speculative: {tokens: 2}'))).error ?? '', /spec\.roles\.decode\.speculative\.method: Required value/);
  assert.match((await dryRun(deployment('s5', '', { prefillExtra: ', speculative: {method: mtp}' }))).error ?? '', /speculative applies to the decode role only .* move it to roles\.decode\.speculative/);
  const ok = await dryRun(deployment('s6', ', speculative: {method: mtp}'));
  assert.equal(ok.error, undefined);
  assert.deepEqual(ok.obj.spec.roles.decode.speculative, { method: 'mtp', tokens: 1 });
});

test('decode pods get MOE_SPECULATIVE_METHOD/TOKENS, prefill pods do not; status.roles.decode.speculative sums the live leaders\' reports', async () => {
  await applyYaml(c, deployment('drafting', ', speculative: {method: mtp, tokens: 2}'));
  const [dec] = await eventually(async () => {
    const d = await pods('drafting', 'decode');
    return d.length === 1 ? d : false;
  }, { what: 'the decode pod' });
  assert.equal(envOf(dec!, 'MOE_SPECULATIVE_METHOD'), 'mtp');
  assert.equal(envOf(dec!, 'MOE_SPECULATIVE_TOKENS'), '2');
  const [pre] = await eventually(async () => {
    const p = await pods('drafting', 'prefill');
    return p.length === 1 ? p : false;
  }, { what: 'the prefill pod' });
  assert.equal(envOf(pre!, 'MOE_SPECULATIVE_METHOD'), undefined);
  // What the decode leader's OperatorSync writes (runtime/src/serve/http/operator-sync.ts), and a gone pod's report.
  const counts = Array.from({ length: 3 }, () => new Array<number>(16).fill(1));
  const report = (speculative: { drafted: number; accepted: number; steps: number }) => formatLoadReport({ role: 'decode', replica: 0, startedAt: '2026-01-01T00:00:00Z', counts, speculative });
  const data = { [dec!.metadata.name]: report({ drafted: 200, accepted: 170, steps: 200 }), 'drafting-decode-7-0': report({ drafted: 1000, accepted: 0, steps: 1000 }) };
  await c.kubectl(['-n', NS, 'patch', 'configmap', 'drafting-expert-load', '--type=merge', '-p', JSON.stringify({ data })]);
  const st = await eventually(async () => {
    const d = await json(c, ['-n', NS, 'get', 'infd', 'drafting']);
    return d.status?.roles?.decode?.speculative ?? false;
  }, { what: 'status.roles.decode.speculative' });
  assert.deepEqual(st, { draftedTokens: 200, acceptedTokens: 170, acceptanceRate: 0.85, meanAcceptedLength: 1.85 });
});

test('a model without an MTP module is Invalid with the field and the fix', async () => {
  const arch = JSON.stringify({ config: { ...PRESETS['deepseek-v3-tiny'], num_nextn_predict_layers: 0 } });
  await applyYaml(c, deployment('nomtp', ', speculative: {method: mtp}', { architecture: arch }));
  const d = await eventually(async () => {
    const x = await json(c, ['-n', NS, 'get', 'infd', 'nomtp']);
    return x.status?.phase === 'Invalid' ? x : false;
  }, { what: 'Invalid' });
  const valid = d.status.conditions.find((x: { type: string }) => x.type === 'Valid');
  assert.match(valid.message, /spec\.roles\.decode\.speculative: method mtp drafts with the model's MTP module, but the architecture has num_nextn_predict_layers 0; serve a model trained with MTP/);
});
