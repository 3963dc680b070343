// One rank of the expert-parallel serving test, started by launch() with the pod contract's environment. Rank 0
// serves (Engine with an ExpertParallelLeader), the others run serveExpertShard(); results go to stdout as one JSON
// line. Every rank builds the same random weights (same seed), as pods load the same model folder.
import { initDistributed, distOptionsFromEnv } from '../../../runtime/src/comm/init.js';
import { readDistEnv } from '../../../runtime/src/comm/pod-env.js';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { modelConfig } from '../../../runtime/src/model/config.js';
import { buildParams } from '../../../runtime/src/model/transformer.js';
import { Rng } from '../../../runtime/src/model/rng.js';
import { alloc32 } from '../../../runtime/src/model/tensor.js';
import { Engine } from '../../../runtime/src/serve/engine/engine.js';
import { ExpertParallelLeader, serveExpertShard } from '../../../runtime/src/serve/engine/expert-parallel.js';
import { joinReplica } from '../../../runtime/src/serve/engine/expert-parallel-pod.js';
import { weightsFromParams } from '../../../runtime/src/serve/engine/weights.js';
import type { ExpertPlacement } from '../../../runtime/src/serve/engine/types.js';
import { EP_PROMPTS, EP_SEED, epPlacement } from './ep-fixture.js';
import { microServe } from './fixtures.js';

const gen = (e: Engine, p: string): Promise<number[]> => {
  const out: number[] = [];
  return e.generate({ id: p, promptIds: byteTokenizer.encode(p), params: { maxTokens: 8, temperature: 0, topP: 1, seed: 0, stopTokenIds: [] } }, (t) => out.push(t)).then(() => out);
};

// EP_MODEL_PATH: the pod wiring (joinReplica over a model folder) instead of in-memory weights; EP_SPECULATIVE=N: the
// leader drafts N tokens per step with the export's MTP module (which runs on the leader).
if (process.env.EP_MODEL_PATH) {
  const n = Number(process.env.EP_SPECULATIVE ?? 0);
  const role = await joinReplica(process.env.EP_MODEL_PATH, { maxBatch: 4, maxQueue: 8, precision: 'fp32', ...(n > 0 ? { speculative: { method: 'mtp', tokens: n } } : {}) });
  if ('engine' in role) {
    const tokens = await Promise.all(EP_PROMPTS.map((p) => gen(role.engine, p)));
    const speculative = role.engine.stats().speculative;
    await role.engine.close();
    process.stdout.write(JSON.stringify({ rank: 0, tokens, speculative }) + '\n');
  } else process.stdout.write(JSON.stringify({ rank: role.rank, ...(await role.done) }) + '\n');
  await role.dist.shutdown();
  process.exit(0);
}

const dist = await initDistributed(readDistEnv(process.env), distOptionsFromEnv());
const c = modelConfig('deepseek-v3-tiny', microServe);
const weights = weightsFromParams(buildParams(c, alloc32, new Rng(EP_SEED)));
const precision = (process.env.EP_PRECISION ?? 'fp32') as 'fp32' | 'fp8';

if (dist.rank === 0) {
  const ep = new ExpertParallelLeader(dist.world, 200);
  const e = Engine.fromWeights(c, byteTokenizer, weights, { maxBatch: 4, maxQueue: 8, precision, expertParallel: ep });
  const identity = await Promise.all(EP_PROMPTS.map((p) => gen(e, p)));
  // Idle past a few keep-alive ticks: the followers must still be there.
  await new Promise((r) => setTimeout(r, 700));
  const p: ExpertPlacement = epPlacement(dist.size);
  e.setPlacement(p);
  const replicated = await Promise.all(EP_PROMPTS.map((p) => gen(e, p)));
  const stats = e.stats();
  const load = e.expertLoad();
  await e.close();
  process.stdout.write(JSON.stringify({ rank: 0, identity, replicated, placementVersion: stats.placementVersion, balance: stats.balance, load }) + '\n');
} else {
  const s = await serveExpertShard(dist.world, c, weights, precision);
  process.stdout.write(JSON.stringify({ rank: dist.rank, ...s }) + '\n');
}
await dist.shutdown();
