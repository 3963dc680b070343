// End to end on the local cluster: a MoETrainingJob trains a tiny model over 2 ranks (expert parallelism) and exports
// it; an InferenceDeployment serves that export with a prefill replica, a decode replica of 2 pods (DeepSeek's decode
// layout, the default: each pod runs its own sequences, the leader spreading them, experts by all-to-all over Gloo;
// drafting 2 tokens per step with the model's MTP module) and a router, all as containers from the runtime image on two real nodes, under Pod Security `restricted`. A streaming chat completion returns tokens;
// the operator publishes an EPLB placement from the load the decode pods report; killing the decode leader mid-stream
// ends that stream with an error event, the operator restarts the replica's gang, and new requests succeed again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import type { LocalCluster } from '../cluster/index.js';
import { RUNTIME_IMAGE, podLogs, restrictedNamespaceWithVolume, startRealCluster } from './real-cluster.js';
import { eventually } from '../util/poll.js';
import { DEFAULT_TOPOLOGY, applyYaml, installCrds, json, startOperator } from '../integration/operator/harness.js';
import { collectivesAvailable } from '../../runtime/src/comm/collectives-binding.js';
import { need } from '../util/need.js';

const NS = 'serve';
const skip = need(collectivesAvailable(), 'the Gloo collectives addon (runtime/collectives)', 'run `make native`') ? false : 'see the failing prerequisite test';
let c: LocalCluster;
let op: Awaited<ReturnType<typeof startOperator>> | undefined;
let shared = '';

const TRAIN = (): string => `apiVersion: moe.io/v1alpha1
kind: MoETrainingJob
metadata: {name: tiny, namespace: ${NS}}
spec:
  model:
    config: {vocab_size: 256, hidden_size: 16, intermediate_size: 24, moe_intermediate_size: 8, num_hidden_layers: 2,
      first_k_dense_replace: 1, num_attention_heads: 2, q_lora_rank: 8, kv_lora_rank: 8, qk_nope_head_dim: 4,
      qk_rope_head_dim: 4, v_head_dim: 4, n_routed_experts: 8, n_shared_experts: 1, num_experts_per_tok: 2, n_group: 4,
      topk_group: 2, num_nextn_predict_layers: 1}
  parallelism: {expert: 2, gpusPerPod: 1}
  training: {steps: 6, globalBatchSize: 8, sequenceLength: 16}
  checkpoint: {intervalSteps: 3}
  template:
    spec:
      containers:
      - name: trainer
        image: ${RUNTIME_IMAGE()}
        command: [moe-runtime, train]
        env: [{name: MOE_POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}]
        volumeMounts: [{name: ckpt, mountPath: /checkpoints}]
      volumes:
      - {name: ckpt, persistentVolumeClaim: {claimName: checkpoints}}
`;

const SERVE = (): string => `apiVersion: moe.io/v1alpha1
kind: InferenceDeployment
metadata: {name: chat, namespace: ${NS}}
spec:
  model: {trainingJob: {name: tiny}}
  servedModelName: tiny
  roles:
    prefill: {replicas: 1, podsPerReplica: 1, gpusPerPod: 1, maxBatch: 4, maxQueue: 16}
    decode: {replicas: 1, podsPerReplica: 2, gpusPerPod: 1, redundantExperts: 2, maxBatch: 8, maxQueue: 16, speculative: {method: mtp, tokens: 2}}
  router: {replicas: 1, port: 8000}
  eplb: {intervalSeconds: 3, minImprovement: 0}
  template:
    spec:
      containers:
      - name: server
        image: ${RUNTIME_IMAGE()}
        command: [moe-runtime]
        volumeMounts: [{name: ckpt, mountPath: /checkpoints, readOnly: true}]
      volumes:
      - {name: ckpt, persistentVolumeClaim: {claimName: checkpoints}}
`;

/** PIDs of this machine's processes whose environment names pod ns/name. */
function podPids(pod: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const env = readFileSync(`/proc/${d}/environ`, 'utf8').split('\0');
      if (env.includes(`MOE_POD_NAME=${pod}`) && env.includes(`MOE_NAMESPACE=${NS}`)) out.push(Number(d));
    } catch {
      // gone or not ours
    }
  }
  return out;
}

interface Sse { chunks: any[]; done: boolean; error?: any; text: string }

/** Reads an SSE stream; `onChunk` sees each data chunk as it arrives. */
async function readSse(res: Response, onChunk: (chunk: any) => void = () => {}): Promise<Sse> {
  const out: Sse = { chunks: [], done: false, text: '' };
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const data = ev.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
      if (!data) continue;
      if (data === '[DONE]') {
        out.done = true;
        continue;
      }
      const chunk = JSON.parse(data);
      if (chunk.error) out.error = chunk.error;
      else {
        out.chunks.push(chunk);
        out.text += chunk.choices?.[0]?.delta?.content ?? chunk.choices?.[0]?.text ?? '';
      }
      onChunk(chunk);
    }
  }
  return out;
}

/** The serving pods' logs (tail), for a failure message. */
function servingLogs(): Promise<string> {
  return podLogs(c, NS, ['chat-router-0', 'chat-prefill-0-0', 'chat-decode-0-0', 'chat-decode-0-1']);
}

/** Awaits `p`; a failure carries the serving pods' logs as they are at that moment. */
async function orLogs<T>(p: Promise<T>): Promise<T> {
  try { return await p; } catch (err) { throw new Error(`${(err as Error).message}\n${await servingLogs()}`); }
}

// Two small local tasks (formats in runtime/src/eval/README.md); scored through the router's OpenAI API.
const EVAL = (): string => `apiVersion: v1
kind: ConfigMap
metadata: {name: eval-tasks, namespace: ${NS}}
data:
  mc.jsonl: |
    {"question": "the", "choices": [" cat", " dog", " fox"], "answer": 0}
    {"question": "a", "choices": [" red", " blue"], "answer": 1}
    {"question": "one", "choices": [" two", " three", " four"], "answer": 2}
  sums.jsonl: |
    {"prompt": "1 + 1 =", "answer": "2"}
    {"prompt": "2 + 2 =", "answer": "4"}
  code.jsonl: |
    {"prompt": "def add(a, b):\\n    return a + b\\n# ", "tests": "def check(f):\\n    assert f(2, 3) == 5\\n", "language": "python", "entry_point": "add"}
    {"prompt": "def sub(a, b):\\n    return a + b\\n# ", "tests": "def check(f):\\n    assert f(5, 3) == 2\\n", "language": "python", "entry_point": "sub"}
---
apiVersion: moe.io/v1alpha1
kind: MoEEvaluation
metadata: {name: chat-eval, namespace: ${NS}}
spec:
  target: {inferenceDeployment: chat}
  tasks:
  - {name: mc, type: multiple_choice, source: {configMap: {name: eval-tasks, key: mc.jsonl}}}
  - {name: sums, type: generate, source: {configMap: {name: eval-tasks, key: sums.jsonl}}, maxTokens: 4}
  # One token lands in a comment, so the programs are the prompts: add passes its test and sub fails it, whatever the
  # model says; pass@1 is 1/2 exactly when python3 runs the candidates in the pod's sandbox.
  - {name: code, type: code, source: {configMap: {name: eval-tasks, key: code.jsonl}}, maxTokens: 1, samples: 1, timeoutSeconds: 20}
  requestTimeoutSeconds: 60
  retries: 3
  template:
    spec:
      containers:
      - {name: eval, image: ${RUNTIME_IMAGE()}, command: [moe-runtime]}
`;

describe('serving a trained model on the local cluster', { skip }, () => {
  let url = '';

  before(async () => {
    c = await startRealCluster();
    await installCrds(c);
    await applyYaml(c, DEFAULT_TOPOLOGY);
    shared = await restrictedNamespaceWithVolume(c, NS);
    op = await startOperator(c.kubeConfig(), { infd: true, eval: true });
  });

  after(async () => {
    await op?.stop();
    await c?.stop();
    if (!process.env.MOE_KEEP_E2E) rmSync(shared, { recursive: true, force: true });
  });

  const deployment = (): Promise<any> => json(c, ['-n', NS, 'get', 'inferencedeployment', 'chat']);
  const available = (what: string) => eventually(async () => {
    const d = await deployment();
    const ok = d.status?.conditions?.some((x: any) => x.type === 'Available' && x.status === 'True');
    return ok ? d : false;
  }, { timeoutMs: 240_000, intervalMs: 1000, what });

  test('train → serve the export: Available, /v1/models, a streaming chat completion, a plain completion', async () => {
    // Applied together: the deployment waits (ModelReady=False) until the training job has succeeded.
    await applyYaml(c, TRAIN());
    await applyYaml(c, SERVE());
    const waiting = await eventually(async () => {
      const d = await deployment();
      return d.status?.conditions?.find((x: any) => x.type === 'ModelReady') ?? false;
    }, { timeoutMs: 60_000, what: 'a ModelReady condition' });
    const job = await eventually(async () => {
      const j = await json(c, ['-n', NS, 'get', 'mtj', 'tiny']);
      return j.status?.phase === 'Succeeded' || j.status?.phase === 'Failed' ? j : false;
    }, { timeoutMs: 300_000, intervalMs: 1000, what: 'training job tiny to finish' });
    assert.equal(job.status.phase, 'Succeeded', JSON.stringify(job.status, null, 2));
    if (waiting.status === 'False') assert.match(waiting.message, /tiny/);

    const d = await available('InferenceDeployment chat Available');
    assert.equal(d.status.model.resolvedFrom, 'MoETrainingJob/tiny');
    assert.match(d.status.model.uri, /^file:\/\/\/checkpoints\/serve\/tiny\/export\/?$/);
    assert.equal(d.status.roles.decode.readyReplicas, 1);
    assert.equal(d.status.roles.prefill.readyReplicas, 1);
    const ip = (await c.kubectl(['-n', NS, 'get', 'pod', 'chat-router-0', '-o', 'jsonpath={.status.podIP}'])).trim();
    assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
    url = `http://${ip}:8000`;

    // The router may take a moment to see the routes the operator published.
    const models = await eventually<any>(async () => {
      try {
        const r = await fetch(`${url}/v1/models`);
        return r.ok ? r.json() : false;
      } catch {
        return false;
      }
    }, { timeoutMs: 60_000, what: 'the router answering /v1/models' });
    assert.deepEqual(models.data.map((m: any) => m.id), ['tiny']);
    await eventually(async () => (await fetch(`${url}/readyz`)).ok || false, { timeoutMs: 60_000, what: 'router ready' });
    // The process runner runs the readiness probe (/readyz), so the decode pods count as Ready only once loaded; the
    // router may still answer 502 for a moment, until it has read the routes the operator published for them.
    await orLogs(eventually(async () => {
      const r = await fetch(`${url}/v1/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'tiny', prompt: 'warm up', max_tokens: 1 }),
      });
      return r.status === 200 || (r.status === 502 ? false : assert.fail(`warm-up answered ${r.status}: ${await r.text()}`));
    }, { timeoutMs: 120_000, intervalMs: 1000, what: 'the decode replica answering' }));

    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'hello' }], max_tokens: 12, temperature: 0, stream: true }),
    });
    if (res.status !== 200) assert.fail(`chat completion answered ${res.status}: ${await res.text()}\n${await servingLogs()}`);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const sse = await readSse(res);
    assert.equal(sse.error, undefined, JSON.stringify(sse.error));
    assert.ok(sse.done, 'the stream ends with data: [DONE]');
    assert.ok(sse.chunks.length >= 2, `chunks: ${sse.chunks.length}`);
    assert.equal(sse.chunks[0].object, 'chat.completion.chunk');
    assert.ok(['stop', 'length'].includes(sse.chunks.at(-1).choices[0].finish_reason), JSON.stringify(sse.chunks.at(-1)));

    const plain = await fetch(`${url}/v1/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', prompt: 'the ', max_tokens: 8, temperature: 0 }),
    });
    const body: any = await plain.json();
    assert.equal(plain.status, 200, JSON.stringify(body));
    assert.equal(body.object, 'text_completion');
    assert.ok(body.usage.completion_tokens >= 1 && body.usage.completion_tokens <= 8, JSON.stringify(body.usage));
    process.stdout.write(`# streamed ${sse.chunks.length} chunks: ${JSON.stringify(sse.text)}; completion ${JSON.stringify(body.choices[0].text)}\n`);
  });

  test('evaluation: a MoEEvaluation pod from the runtime image scores the served model through its router; scores reach status', async () => {
    await applyYaml(c, EVAL());
    const e = await eventually(async () => {
      const x = await json(c, ['-n', NS, 'get', 'moeeval', 'chat-eval']);
      return ['Succeeded', 'Failed', 'Invalid'].includes(x.status?.phase) ? x : false;
    }, { timeoutMs: 300_000, intervalMs: 2000, what: 'evaluation chat-eval to finish' });
    const logs = async (): Promise<string> => (await c.kubectl(['-n', NS, 'logs', '-l', 'moe.io/evaluation-name=chat-eval', '--tail', '40']).catch((err) => String(err)));
    if (e.status.phase !== 'Succeeded') assert.fail(`evaluation ${e.status.phase}: ${JSON.stringify(e.status, null, 2)}\n${await logs()}`);
    const scores = e.status.results.at(-1).scores;
    const by = (task: string, metric: string) => scores.find((x: any) => x.name === task && x.metric === metric);
    for (const [task, metric, n] of [['mc', 'accuracy', 3], ['sums', 'exact_match', 2]] as const) {
      const sc = by(task, metric);
      assert.ok(sc, `${task} ${metric} in ${JSON.stringify(scores)}`);
      assert.equal(sc.n, n);
      assert.ok(sc.score >= 0 && sc.score <= 1 && sc.stderr >= 0, JSON.stringify(sc));
    }
    const code = by('code', 'pass@1');
    assert.ok(code, `code pass@1 in ${JSON.stringify(scores)}`);
    assert.deepEqual([code.score, code.n], [0.5, 2], JSON.stringify(code));
    process.stdout.write(`# evaluation scores: ${JSON.stringify(scores.map((x: any) => [x.name, x.metric, x.score]))}\n`);
  });

  test('EPLB: the decode pods report expert load and the operator publishes a placement they adopt', async () => {
    // Some traffic so that the decode leader has load to report.
    await Promise.all(Array.from({ length: 4 }, (_, i) => fetch(`${url}/v1/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', prompt: `request ${i} `, max_tokens: 16, temperature: 0 }),
    }).then((r) => r.json())));
    const placed = await eventually(async () => {
      const d = await deployment();
      const p = d.status?.roles?.decode?.placement;
      return p?.version >= 1 ? p : false;
    }, { timeoutMs: 90_000, intervalMs: 1000, what: 'a decode placement published' });
    assert.ok(placed.balanceAfter <= placed.balanceBefore, JSON.stringify(placed));
    const cm = await json(c, ['-n', NS, 'get', 'configmap', 'chat-placement']);
    const doc = JSON.parse(cm.data.decode);
    assert.equal(doc.gpus, 2);
    assert.equal(doc.phy2log[0].length, 10, 'routed experts + redundant slots');
    const events = await c.kubectl(['-n', NS, 'get', 'events', '--field-selector', 'involvedObject.name=chat,reason=Rebalanced', '-o', 'name']);
    assert.ok(events.trim().length > 0, 'a Rebalanced event');
    // Both decode pods adopted it (their metrics carry the placement version), and both ran sequences of their own:
    // the leader spread the concurrent requests over the replica (all-to-all layout).
    for (const pod of ['chat-decode-0-0', 'chat-decode-0-1']) {
      const ip = (await c.kubectl(['-n', NS, 'get', 'pod', pod, '-o', 'jsonpath={.status.podIP}'])).trim();
      const m = await eventually(async () => {
        const text = await (await fetch(`http://${ip}:8000/metrics`)).text();
        const line = text.split('\n').find((l) => /placement_version/.test(l) && !l.startsWith('#'));
        return line !== undefined && Number(line.split(' ').pop()) >= 1 ? text : false;
      }, { timeoutMs: 30_000, what: `${pod} reporting placement version >= 1 in /metrics` });
      const generated = Number(/^moe_serve_generation_tokens_total(?:\{[^}]*\})? (\d+)/m.exec(m)?.[1] ?? 0);
      assert.ok(generated > 0, `${pod} generated no tokens of its own: ${m.split('\n').filter((l) => l.includes('generation_tokens')).join('; ')}`);
    }
  });

  test('speculative decoding: the decode leader drafts with the MTP module (its metrics) and status.roles.decode.speculative reports it', async () => {
    const dec = (await c.kubectl(['-n', NS, 'get', 'pod', 'chat-decode-0-0', '-o', 'json']).then((t) => JSON.parse(t)));
    assert.equal(dec.spec.containers[0].env.find((e: any) => e.name === 'MOE_SPECULATIVE_TOKENS')?.value, '2');
    await Promise.all(Array.from({ length: 2 }, (_, i) => fetch(`${url}/v1/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', prompt: `draft ${i} `, max_tokens: 16, temperature: 0 }),
    }).then((r) => r.json())));
    const m = await (await fetch(`http://${dec.status.podIP}:8000/metrics`)).text();
    const drafted = Number(/^moe_serve_spec_draft_tokens_total\{[^}]*\} (\d+)/m.exec(m)?.[1]);
    assert.ok(drafted > 0, `the decode leader should have drafted: ${m.split('\n').filter((l) => l.includes('spec')).join('; ')}`);
    const st = await eventually(async () => (await deployment()).status?.roles?.decode?.speculative ?? false, { timeoutMs: 30_000, what: 'status.roles.decode.speculative' });
    assert.ok(st.draftedTokens > 0 && st.acceptanceRate >= 0 && st.acceptanceRate <= 1 && st.meanAcceptedLength >= 1, JSON.stringify(st));
    process.stdout.write(`# speculative decoding on the trained tiny model: ${JSON.stringify(st)}\n`);
  });

  test('kill the decode leader mid-stream: that stream ends with an error event; the gang restarts; new requests succeed', async () => {
    const pids = podPids('chat-decode-0-0');
    const decodeUids = (await c.kubectl(['-n', NS, 'get', 'pods', '-l', 'moe.io/role=decode', '-o', 'jsonpath={range .items[*]}{.metadata.uid}{" "}{end}'])).trim().split(/\s+/);
    assert.equal(decodeUids.length, 2);
    assert.ok(pids.length > 0, 'found the decode leader process');
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'tell me a long story' }], max_tokens: 3000, temperature: 0, stream: true }),
    });
    assert.equal(res.status, 200);
    let killed = false;
    const t0 = Date.now();
    const sse = await readSse(res, () => {
      if (killed) return;
      killed = true;
      for (const p of pids) process.kill(p, 'SIGKILL');
    });
    assert.ok(killed, 'tokens arrived before the kill');
    assert.ok(sse.error, `the stream ends with an error event, got done=${sse.done} after ${sse.chunks.length} chunks`);
    assert.ok(!sse.done || sse.error, 'no clean [DONE] without the error');
    assert.ok(Date.now() - t0 < 60_000, 'the failed stream ended promptly');

    // The operator restarts the replica as a gang (both pods replaced), says so, and requests succeed again.
    await eventually(async () => {
      const ev = await c.kubectl(['-n', NS, 'get', 'events', '--field-selector', 'involvedObject.name=chat,reason=ReplicaRestarted', '-o', 'jsonpath={range .items[*]}{.message}{"\\n"}{end}']);
      return /decode replica 0/.test(ev) || false;
    }, { timeoutMs: 60_000, intervalMs: 1000, what: 'a ReplicaRestarted event for decode replica 0' });
    await eventually(async () => {
      const uids = await c.kubectl(['-n', NS, 'get', 'pods', '-l', 'moe.io/role=decode', '-o', 'jsonpath={range .items[*]}{.metadata.uid}{" "}{end}']);
      const now = uids.trim().split(/\s+/).filter(Boolean);
      return now.length === 2 && now.every((u) => !decodeUids.includes(u)) || false;
    }, { timeoutMs: 120_000, intervalMs: 1000, what: 'both decode pods replaced' });
    const body = await orLogs(eventually<any>(async () => {
      const r = await fetch(`${url}/v1/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'tiny', prompt: 'again ', max_tokens: 4, temperature: 0 }),
      });
      return r.status === 200 ? r.json() : false;
    }, { timeoutMs: 120_000, intervalMs: 2000, what: 'a completion after the restart' }));
    assert.ok(body.usage.completion_tokens >= 1, JSON.stringify(body));
    const d = await available('chat Available after the decode replica restarted');
    assert.equal(d.status.roles.decode.readyReplicas, 1);
  });
});
