// One pod of the data-parallel (all-to-all) serving test, started by launch() with the pod contract's environment.
// Every pod builds the same random weights (as pods load the same model folder), generates the prompts A2A_SPLIT gives
// its rank, twice: under the identity placement, then again while the leader swaps in a replicated placement after
// its first streamed token. Results go to stdout as one JSON line. A2A_DIE_AFTER=n: rank A2A_DIE_RANK kills itself
// (SIGKILL) after n streamed tokens; the others print a line per failed request.
import { initDistributed, distOptionsFromEnv } from '../../../runtime/src/comm/init.js';
import { readDistEnv } from '../../../runtime/src/comm/pod-env.js';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { modelConfig } from '../../../runtime/src/model/config.js';
import { buildParams } from '../../../runtime/src/model/transformer.js';
import { Rng } from '../../../runtime/src/model/rng.js';
import { alloc32 } from '../../../runtime/src/model/tensor.js';
import { Engine } from '../../../runtime/src/serve/engine/engine.js';
import { ExpertAllToAll } from '../../../runtime/src/serve/engine/expert-all-to-all.js';
import { joinReplica } from '../../../runtime/src/serve/engine/expert-parallel-pod.js';
import { weightsFromParams } from '../../../runtime/src/serve/engine/weights.js';
import { EP_PROMPTS, EP_SEED, epPlacement } from './ep-fixture.js';
import { microServe } from './fixtures.js';
import { scored } from './a2a-fixture.js';

const MAX_TOKENS = 10;
const gen = (e: Engine, p: string, onToken: (n: number) => void = () => {}): Promise<number[]> => {
  const out: number[] = [];
  return e.generate({ id: p, promptIds: byteTokenizer.encode(p), params: { maxTokens: MAX_TOKENS, temperature: 0, topP: 1, seed: 0, stopTokenIds: [] } }, (t) => {
    out.push(t);
    onToken(out.length);
  }).then(() => out);
};

const rank = Number(process.env.RANK);
const split = JSON.parse(process.env.A2A_SPLIT ?? '[[0, 1, 2, 3]]') as number[][];
const mine = (split[rank] ?? []).map((i) => EP_PROMPTS[i]);

// A2A_MODEL_PATH: the pod wiring (joinReplica over a model folder), drafting A2A_SPECULATIVE tokens per step.
if (process.env.A2A_MODEL_PATH) {
  const n = Number(process.env.A2A_SPECULATIVE ?? 0);
  const role = await joinReplica(process.env.A2A_MODEL_PATH, { maxBatch: 4, maxQueue: 8, precision: 'fp32', idleTickMs: 2, ...(n > 0 ? { speculative: { method: 'mtp', tokens: n } } : {}) });
  if (role.layout !== 'alltoall') throw new Error(`joinReplica gave the ${role.layout} layout, expected alltoall by default`);
  const e = role.engine;
  const tokens = await Promise.all(mine.map((p) => gen(e, p)));
  const speculative = e.stats().speculative;
  let replica;
  if (rank === 0) {
    // The replica's sum, once it covers every pod's drafts (the test passes the total it expects).
    const want = Number(process.env.A2A_WANT_DRAFT_STEPS ?? -1);
    for (let i = 0; want >= 0 && i < 4000 && !(replica && replica.speculative?.steps === want); i++) {
      replica = e.replicaLoad();
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  await e.close();
  process.stdout.write(JSON.stringify({ rank, tokens, speculative, replica }) + '\n');
  await role.dist.shutdown();
  process.exit(0);
}

const dist = await initDistributed(readDistEnv(process.env), distOptionsFromEnv());
const c = modelConfig('deepseek-v3-tiny', microServe);
const weights = weightsFromParams(buildParams(c, alloc32, new Rng(EP_SEED)));
const precision = (process.env.A2A_PRECISION ?? 'fp32') as 'fp32' | 'fp8';
const a2a = new ExpertAllToAll(dist.world, (process.env.A2A_DISPATCH ?? 'exact') as 'exact' | 'padded');
const e = Engine.fromWeights(c, byteTokenizer, weights, { maxBatch: 4, maxQueue: 8, precision, allToAll: a2a, idleTickMs: 2 });

if (process.env.A2A_DIE_AFTER) {
  const after = Number(process.env.A2A_DIE_AFTER);
  const dying = Number(process.env.A2A_DIE_RANK);
  const results = await Promise.allSettled(mine.map((p) => gen(e, p, (n) => {
    if (rank === dying && n >= after) process.kill(process.pid, 'SIGKILL');
  })));
  for (const r of results) process.stdout.write(JSON.stringify(r.status === 'fulfilled' ? { rank, done: r.value } : { rank, failed: (r.reason as Error).message }) + '\n');
  // The replica is broken: the watchdog ends this process (exit 75); reaching here past its grace is a failure.
  await new Promise((r) => setTimeout(r, 30_000));
  process.stdout.write(JSON.stringify({ rank, stillAlive: true }) + '\n');
  process.exit(0);
}

// A2A_SCORE_RANK: that pod also scores a prompt (prompt log-probabilities: its own forward), so its step runs two
// prefill rounds while the others run fewer.
const scoreRank = Number(process.env.A2A_SCORE_RANK ?? -1);
const scoring = rank === scoreRank ? scored(e, EP_PROMPTS[0]) : undefined;
// A2A_FAIL_RANK: on that pod, a DOOMED prompt arrives while its sequences decode; its prefill forward fails after the
// first MoE layer (the combine throws) and the same step's decode forward follows: the pod must finish the failed
// round's MoE layers with zero rows first, or its decode forward would be out of step with the other pods.
const DOOMED = 'this prompt fails in its first MoE layer';
let doomed: Promise<string> | undefined;
const failing = rank === Number(process.env.A2A_FAIL_RANK ?? -1);
if (failing) {
  const moe0 = e.model.moeAt(0);
  const finish = moe0.finish.bind(moe0);
  moe0.finish = (p, ys, x) => {
    if (p.T === DOOMED.length) throw new Error('injected failure in the combine');
    return finish(p, ys, x);
  };
}
const identity = await Promise.all(mine.map((p, i) => gen(e, p, (n) => {
  if (failing && i === 0 && n === 2) doomed = gen(e, DOOMED).then(() => 'finished', (err: Error) => err.message);
})));
const score = await scoring;
let swappedAt = -1;
const replicated = await Promise.all(mine.map((p, i) => gen(e, p, (n) => {
  // The leader swaps mid-stream: its sequences (and the other pods') keep going under the new placement.
  if (rank === 0 && i === 0 && n === 1) {
    e.setPlacement(epPlacement(dist.size));
    swappedAt = n;
  }
})));
if (rank === 0 && mine.length === 0) e.setPlacement(epPlacement(dist.size));
let replica;
if (rank === 0 && Number(process.env.A2A_WANT_ROUTED) >= 0) {
  // The replica's load sum, once it covers every pod's sequences (the test passes the total routed pairs it expects).
  const want = Number(process.env.A2A_WANT_ROUTED);
  for (let i = 0; i < 4000; i++) {
    replica = e.replicaLoad();
    if (replica && replica.counts.flat().reduce((a, b) => a + b, 0) === want) break;
    await new Promise((r) => setTimeout(r, 5));
  }
}
await e.close();
const a2aSteps = a2a.steps;
const stats = e.stats();
process.stdout.write(JSON.stringify({ rank, identity, replicated, score, doomed: await doomed, swappedAt, placementVersion: stats.placementVersion, load: e.expertLoad(), replica, a2aSteps, traffic: dist.world.traffic }) + '\n');
await dist.shutdown();
