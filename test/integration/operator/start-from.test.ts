// Where a gang starts, against a real API server (issue 13 §1): resumeFrom reaches the pods, the job's own recorded
// checkpoint wins on a restart, initFrom.trainingJob waits for that job to succeed and then names its run folder, and
// the schema refuses a malformed initFrom. (What the runtime does with these variables: test/native/parallel/resume-agree.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type LocalCluster } from '../../cluster/index.js';
import { eventually } from '../../util/poll.js';
import { DEFAULT_TOPOLOGY, applyYaml, chartRbacKubeConfig, installCrds, json, startOperator, tinyJob } from './harness.js';

let c: LocalCluster;
let op: Awaited<ReturnType<typeof startOperator>>;
const NS = 'ft';

const job = async (name: string) => json(c, ['-n', NS, 'get', 'mtj', name]);
const envOf = async (pod: string): Promise<Record<string, string>> => {
  const p = await json<{ spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } }>(c, ['-n', NS, 'get', 'pod', pod]);
  return Object.fromEntries(p.spec.containers[0]!.env.map((e) => [e.name, e.value ?? '']));
};
const podOf = (name: string, attempt: number) => eventually(async () => {
  const p = await json<{ metadata: { labels: Record<string, string>; deletionTimestamp?: string }; status: { phase: string } }>(c, ['-n', NS, 'get', 'pod', `${name}-0`]).catch(() => undefined);
  return p && p.metadata.labels['moe.io/attempt'] === String(attempt) && !p.metadata.deletionTimestamp && p.status.phase === 'Running' ? p : false;
}, { timeoutMs: 60_000, what: `${name}-0 of attempt ${attempt} running` });

before(async () => {
  c = await startCluster({ fleet: { spines: 1, leavesPerSpine: 2, nodesPerLeaf: 4, gpusPerNode: 8 }, runnerNodes: 0 });
  await installCrds(c);
  await applyYaml(c, DEFAULT_TOPOLOGY);
  await c.kubectl(['create', 'namespace', NS]);
  op = await startOperator(await chartRbacKubeConfig(c));
});

after(async () => {
  await op?.stop();
  await c?.stop();
});

describe('start from a checkpoint', () => {
  test('resumeFrom none and resumeFrom <uri> reach the pods; after a recorded checkpoint a restart resumes the job\'s own', async () => {
    await applyYaml(c, tinyJob('fresh', NS, '  checkpoint: {resumeFrom: none}\n'));
    await podOf('fresh', 0);
    assert.equal((await envOf('fresh-0')).MOE_RESUME_FROM, 'none');

    await applyYaml(c, tinyJob('from', NS, '  checkpoint: {resumeFrom: "file:///checkpoints/ft/fresh"}\n'));
    await podOf('from', 0);
    const e0 = await envOf('from-0');
    assert.deepEqual([e0.MOE_RESUME_FROM, e0.MOE_RESUME_URI, e0.MOE_CHECKPOINT_DIR], ['file:///checkpoints/ft/fresh', undefined, 'file:///checkpoints/ft/from']);
    // Rank 0 records a checkpoint of its own, then a rank fails.
    const own = 'file:///checkpoints/ft/from/checkpoints/step-00000020';
    await c.kubectl(['-n', NS, 'patch', 'configmap', 'from-report', '--type=merge', '-p', JSON.stringify({ data: { checkpoint: JSON.stringify({ step: 20, uri: own }) } })]);
    await eventually(async () => (await job('from')).status?.checkpoints?.latest?.step === 20 || false, { what: 'checkpoint 20 recorded' });
    await c.kubectl(['-n', NS, 'patch', 'pod', 'from-1', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { phase: 'Failed', containerStatuses: [{ name: 'trainer', image: 'moe-runtime:test', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 1, reason: 'Error' } } }] } })]);
    await podOf('from', 1);
    const e1 = await envOf('from-0');
    assert.deepEqual([e1.MOE_RESUME_URI, e1.MOE_RESUME_STEP], [own, '20'], 'the restart resumes the job\'s own checkpoint, not resumeFrom');
  });

  test('initFrom.trainingJob waits (InitSourceNotReady) until that job has Succeeded, then passes its run folder', async () => {
    await applyYaml(c, tinyJob('tune', NS, '  checkpoint: {initFrom: {trainingJob: {name: pre}}}\n'));
    const waiting = await eventually(async () => {
      const j = await job('tune');
      return j.status?.phase === 'Unschedulable' && j.status.conditions?.some((x: any) => x.reason === 'InitSourceNotReady') ? j : false;
    }, { what: 'tune waits for pre' });
    assert.match(JSON.stringify(waiting.status.conditions), /MoETrainingJob pre not found/);
    await applyYaml(c, tinyJob('pre', NS, '  checkpoint: {uri: "file:///shared"}\n'));
    await podOf('pre', 0);
    await c.kubectl(['-n', NS, 'patch', 'pod', 'pre-0', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Succeeded"}}']);
    await eventually(async () => (await job('pre')).status?.phase === 'Succeeded' || false, { what: 'pre Succeeded' });
    await podOf('tune', 0);
    const env = await envOf('tune-0');
    assert.deepEqual([env.MOE_INIT_URI, env.MOE_RESUME_FROM], ['file:///shared/ft/pre', 'latest']);
  });

  test('the schema refuses initFrom with both sources, or a URI that is not file://', async () => {
    await assert.rejects(applyYaml(c, tinyJob('bad1', NS, '  checkpoint: {initFrom: {uri: "file:///a", trainingJob: {name: pre}}}\n')), /set exactly one of checkpoint.initFrom.uri or checkpoint.initFrom.trainingJob/);
    await assert.rejects(applyYaml(c, tinyJob('bad2', NS, '  checkpoint: {initFrom: {uri: "s3://bucket/pre"}}\n')), /checkpoint.initFrom.uri must be an absolute file:\/\/ URI/);
  });
});
