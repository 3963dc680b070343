// End to end on the local cluster: the operator gang-starts a DualPipe PP=2 × EP=2 MoETrainingJob whose pods run the
// distributed runtime (runtime/src/parallel/main.ts) as containers from the runtime image on two real nodes, in a
// namespace under Pod Security `restricted`; one rank's process is killed mid-run; every rank exits, the operator
// restarts the gang from the latest checkpoint, and the job succeeds.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { LocalCluster } from '../cluster/index.js';
import { RUNTIME_IMAGE, restrictedNamespaceWithVolume, startRealCluster } from './real-cluster.js';
import { eventually } from '../util/poll.js';
import { DEFAULT_TOPOLOGY, applyYaml, crdPaths, json, startOperator } from '../integration/operator/harness.js';
import { collectivesAvailable } from '../../runtime/src/comm/collectives-binding.js';
import { need } from '../util/need.js';

const NS = 'e2e';
const skip = need(collectivesAvailable(), 'the Gloo collectives addon (runtime/collectives)', 'run `make native`') ? false : 'see the failing prerequisite test';
let c: LocalCluster;
let op: Awaited<ReturnType<typeof startOperator>> | undefined;
let shared = '';

function jobYaml(name: string): string {
  // `moe-runtime train` (the runtime image's command) hands a multi-rank pod to the distributed entrypoint.
  return `apiVersion: moe.io/v1alpha1
kind: MoETrainingJob
metadata: {name: ${name}, namespace: ${NS}}
spec:
  model:
    config: {vocab_size: 256, hidden_size: 16, intermediate_size: 24, moe_intermediate_size: 8, num_hidden_layers: 2,
      first_k_dense_replace: 1, num_attention_heads: 2, q_lora_rank: 8, kv_lora_rank: 8, qk_nope_head_dim: 4,
      qk_rope_head_dim: 4, v_head_dim: 4, n_routed_experts: 8, n_shared_experts: 1, num_experts_per_tok: 2, n_group: 4,
      topk_group: 2, num_nextn_predict_layers: 1}
  parallelism:
    pipeline: {stages: 2, schedule: DualPipe, microBatches: 4}
    expert: 2
    gpusPerPod: 1
  training: {steps: 12, globalBatchSize: 8, sequenceLength: 8}
  checkpoint: {intervalSteps: 2}
  failurePolicy:
    maxRestarts: 2
    backoff: {initialSeconds: 1, maxSeconds: 2}
  template:
    spec:
      containers:
      - name: trainer
        image: ${RUNTIME_IMAGE()}
        command: [moe-runtime, train]
        env:
        - {name: MOE_POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
        - {name: MOE_DIST_TIMEOUT_MS, value: "60000"}
        - {name: MOE_DIST_STALL_MS, value: "30000"}
        - {name: MOE_DIST_GRACE_MS, value: "1000"}
        volumeMounts: [{name: ckpt, mountPath: /checkpoints}]
      volumes:
      - {name: ckpt, persistentVolumeClaim: {claimName: checkpoints}}
`;
}

/** PIDs of this machine's processes whose environment says they are rank `rank` of job ns/name. */
function rankPids(job: string, rank: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const env = readFileSync(`/proc/${d}/environ`, 'utf8').split('\0');
      if (env.includes(`MOE_JOB=${NS}/${job}`) && env.includes(`RANK=${rank}`)) out.push(Number(d));
    } catch {
      // gone or not ours
    }
  }
  return out;
}

function steps(job: string): number[] {
  try {
    return readdirSync(path.join(shared, NS, job, 'checkpoints')).filter((n) => /^step-\d+$/.test(n)).map((n) => Number(n.slice(5)));
  } catch {
    return [];
  }
}

describe('distributed runtime on the local cluster', { skip }, () => {
  before(async () => {
    c = await startRealCluster();
    for (const f of crdPaths()) await c.kubectl(['apply', '--server-side', '-f', f]);
    // kubectl wait fails outright while a fresh CRD has no conditions yet: retry it.
    await eventually(async () => {
      try {
        await c.kubectl(['wait', '--for=condition=Established', 'crd/moetrainingjobs.moe.io', 'crd/clustertopologies.moe.io', '--timeout=60s']);
        return true;
      } catch {
        return false;
      }
    }, { timeoutMs: 90_000, intervalMs: 500, what: 'CRDs Established' });
    await applyYaml(c, DEFAULT_TOPOLOGY);
    shared = await restrictedNamespaceWithVolume(c, NS);
    op = await startOperator(c.kubeConfig());
  });

  after(async () => {
    await op?.stop();
    await c?.stop();
    if (!process.env.MOE_KEEP_E2E) rmSync(shared, { recursive: true, force: true });
  });

  /** Rank 0's progress log of the latest attempt (metrics.jsonl in the run directory holds every attempt's). */
  function rank0Log(job: string): Array<Record<string, any>> {
    const lines = readFileSync(path.join(shared, NS, job, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const start = lines.map((l) => l.msg === 'started' || l.msg === 'resumed').lastIndexOf(true);
    return lines.slice(start);
  }

  async function finished(job: string): Promise<any> {
    return eventually(async () => {
      const j = await json(c, ['-n', NS, 'get', 'mtj', job]);
      return j.status?.phase === 'Succeeded' || j.status?.phase === 'Failed' ? j : false;
    }, { timeoutMs: 300_000, intervalMs: 1000, what: `job ${job} to finish` });
  }

  test('kill one rank mid-run → gang restart from the latest checkpoint → Succeeded, with the uninterrupted losses', async () => {
    // The reference: the same job without a fault.
    await applyYaml(c, jobYaml('clean'));
    const clean = await finished('clean');
    assert.equal(clean.status.phase, 'Succeeded', JSON.stringify(clean.status, null, 2));
    const cleanSteps = new Map(rank0Log('clean').filter((l) => l.msg === 'step').map((l) => [l.step as number, l.loss as number]));
    assert.equal(cleanSteps.size, 12);
    // Rank 0's reports reached status through the report ConfigMap (the least-privilege channel).
    assert.equal(clean.status.progress?.step, 12, JSON.stringify(clean.status.progress));
    assert.equal(clean.status.progress?.loss, cleanSteps.get(12));
    assert.equal(clean.status.checkpoints?.latest?.step, 12, JSON.stringify(clean.status.checkpoints));
    assert.match(clean.status.checkpoints.latest.uri, /^file:\/\/\/checkpoints\/e2e\/clean\//);
    // Rank 0 wrote the inference export in DeepSeek's released layout; this micro model's projections are smaller than
    // one 128×128 block, so they are BF16 and named in modules_to_not_convert (as transformers reads them).
    const exportDir = path.join(shared, NS, 'clean', 'export');
    const config = JSON.parse(readFileSync(path.join(exportDir, 'config.json'), 'utf8'));
    assert.equal(config.quantization_config?.fmt, 'e4m3');
    assert.ok(config.quantization_config.modules_to_not_convert.includes('model.layers.1.mlp.experts.7.down_proj'));
    const index = JSON.parse(readFileSync(path.join(exportDir, 'model.safetensors.index.json'), 'utf8'));
    for (const name of ['model.embed_tokens.weight', 'model.layers.1.mlp.experts.7.down_proj.weight',
      'model.layers.1.mlp.gate.e_score_correction_bias', 'lm_head.weight']) {
      assert.ok(index.weight_map[name], `export lacks ${name}`);
    }

    await applyYaml(c, jobYaml('fault'));
    await eventually(() => steps('fault').some((s) => s >= 4) || false, { timeoutMs: 240_000, intervalMs: 500, what: 'a checkpoint at step 4' });
    const pids = rankPids('fault', 3);
    assert.ok(pids.length > 0, 'found rank 3');
    for (const p of pids) process.kill(p, 'SIGKILL');
    const killedAfter = Math.max(...steps('fault'));
    const done = await finished('fault');
    assert.equal(done.status.phase, 'Succeeded', JSON.stringify(done.status, null, 2));
    assert.ok(done.status.restarts >= 1, `restarts ${done.status.restarts}`);
    assert.ok(steps('fault').includes(12), `final checkpoint: ${steps('fault')}`);
    // The restarted gang's rank 0 resumed from a checkpoint no older than the one seen before the kill, and every
    // step it ran has exactly the uninterrupted run's loss.
    const log = rank0Log('fault');
    const resumed = log.find((l) => l.msg === 'resumed');
    assert.ok(resumed, `rank 0 of the restarted gang resumed: ${JSON.stringify(log.slice(0, 3))}`);
    assert.ok(resumed.step >= killedAfter, `resumed from step ${resumed.step}, checkpoint ${killedAfter} existed at the kill`);
    const after = log.filter((l) => l.msg === 'step');
    assert.equal(after[0].step, resumed.step + 1);
    for (const l of after) assert.equal(l.loss, cleanSteps.get(l.step), `step ${l.step}`);
    process.stdout.write(`# killed after checkpoint ${killedAfter}, resumed from ${resumed.step}, restarts ${done.status.restarts}, final loss ${after[after.length - 1].loss}\n`);
  });
});
