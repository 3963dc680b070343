// The distributed training entrypoint of a pod (I/O wiring): `node dist/runtime/src/parallel/main.js`. Reads the pod
// contract (DESIGN.md §4) and the plan document in $MOE_PLAN, joins the job (rendezvous, watchdog), builds the
// engine the plan asks for (pipeline schedule from the planner, expert/data parallelism, ZeRO-1), resumes from the
// checkpoint step all ranks agree on (or initialises weights from MOE_INIT_URI; start-point.ts), trains, checkpoints every intervalSteps and at the end, and exits 0; a lost peer makes
// it exit 75 (EXIT_PEER_LOST) so the operator restarts the gang. Progress goes to stdout as JSON lines (rank 0).
import '../comm/threadpool.js'; // first: sizes libuv's pool for the Gloo waits
import './heap-flags.js'; // second: V8's collection limits, before the first tensor
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { joinDocuments, readDocuments } from '../data/corpus.js';
import { syntheticCorpus } from '../data/grammar.js';
import { byteTokenizer } from '../data/tokenizer.js';
import { defaultTrainOptions } from '../train/options.js';
import { settingsFromPlan } from '../train/plan.js';
import { writeExport } from '../checkpoint/export.js';
import { TrainEnv, parsePlanDocument } from '../../../operator/contract/index.js';
import { startEngine } from './rank-engine.js';
import { readDistEnv } from '../comm/pod-env.js';
import { planRankTable } from '../comm/pod-launch-plan.js';
import { gatherWeights } from './gather.js';
import { distOptionsFromEnv, initDistributed } from '../comm/init.js';
import { rankGroups, type RankTableLike } from './rank-groups.js';
import { resolveDistAddresses } from '../comm/resolve.js';
import { podPath } from '../kube/pod-path.js';
import { saveSharded } from './sharded-checkpoint.js';
import { startSpec, uriPath } from '../checkpoint/resume.js';
import { setAsideCheckpoints } from '../checkpoint/checkpoint-dirs.js';
import { CheckpointAbort } from '../checkpoint/shard-reader.js';
import { StartFailure, startPoint, type StartResult } from './start-point.js';
import { OperatorReporter, checkpointUri } from './progress-report.js';
import { chatLayout, heldOutLossOfWeights, sftData, sftTokenizer } from '../train/sft.js';
import { modelConfig } from '../model/config.js';
import type { ProgressReport } from '../../../operator/contract/index.js';
import { grpoFromPlan, startGrpo, type GrpoRank } from '../post/dist-start.js';
import { dpGrpoStep } from './dp-grpo.js';
import type { DataParallelTrainer } from './dp-trainer.js';

let metricsFile: string | undefined;

/** stdout, and (rank 0) <runDir>/metrics.jsonl, which survives restarts of the gang. */
function log(fields: Record<string, unknown>): void {
  const line = JSON.stringify({ time: new Date().toISOString(), ...fields }) + '\n';
  process.stdout.write(line);
  if (metricsFile) appendFileSync(metricsFile, line);
}

const env = await resolveDistAddresses(readDistEnv(process.env, process.env.HOSTNAME ?? os.hostname()), distOptionsFromEnv().timeoutMs);
if (!env.planPath) throw new Error(`${TrainEnv.plan} is not set: the path of the plan document the operator mounts`);
const doc = parsePlanDocument(readFileSync(podPath(env.planPath), 'utf8'), `${TrainEnv.plan}=${env.planPath}`);
const settings = settingsFromPlan(doc, defaultTrainOptions());
// The engines split one global batch over the data-parallel ranks and micro-batches.
const opts = { ...settings.options, batch: doc.training?.globalBatchSize ?? settings.options.batch };
const ckDirUri = process.env[TrainEnv.checkpointDir];
const ckDir = ckDirUri ? uriPath(ckDirUri, TrainEnv.checkpointDir) : undefined;
const runDir = podPath(process.env.MOE_RUN_DIR ?? ckDir ?? settings.runDir ?? path.join(os.tmpdir(), 'moe-run', env.job ?? 'local'));
// Resume and init sources are pod paths too (MOE_POD_ROOT maps them on the local runner).
const spec = startSpec(process.env, runDir);
if (spec.resume) spec.resume.path = podPath(spec.resume.path);
if (spec.init) spec.init.path = podPath(spec.init.path);
if (env.rank === 0) {
  mkdirSync(runDir, { recursive: true });
  metricsFile = path.join(runDir, 'metrics.jsonl');
}
// training.mode grpo: prompts instead of text, checked (layout, prompt lengths) before any rank connects.
const grpo = doc.training?.mode === 'grpo' ? grpoFromPlan(doc, settings, opts, spec, env.worldSize) : undefined;
const text = grpo || opts.sft ? '' : settings.dataPath ? joinDocuments(readDocuments(podPath(settings.dataPath))) : syntheticCorpus(opts.seed, 200_000);
const config = modelConfig(opts.preset, opts.overrides);
const tokenizer = grpo?.tokenizer ?? (opts.sft ? sftTokenizer(spec, config.vocab_size) : byteTokenizer);
// training.mode sft: chat data as masked, packed batches (every rank the same, like the text sampler); the run's
// length from its epochs, capped by training.steps (train/sft.ts).
const sft = opts.sft ? sftData(opts, { ...opts.sft, ...(opts.sft.heldOutPath ? { heldOutPath: podPath(opts.sft.heldOutPath) } : {}) }, config, tokenizer, podPath(settings.dataPath ?? '')) : undefined;
if (sft) Object.assign(opts, { steps: sft.options.steps, optimizer: sft.options.optimizer });
/** SFT's held-out assistant-token loss of the whole model (rank 0, from the gathered weights). */
const heldOut = (w: Map<string, Float32Array>): number | undefined =>
  sft?.heldOut && opts.sft ? heldOutLossOfWeights(config, opts.precision, w, sft.heldOut, chatLayout(opts, opts.sft, config), opts.batch) : undefined;
let heldOutLoss: number | undefined;

const dist = await initDistributed(env, distOptionsFromEnv());
const par = doc.plan?.parallelism;
const table: RankTableLike = planRankTable(doc, env.worldSize);
const groups = rankGroups(table, env.rank); // validates the table (no tensor parallelism, complete pipelines)
// Each rank builds only the parameters it holds (param-placement.ts) and the groups over their holders.
const { trainer, engine, placement } = await dist.guard(() => startEngine(dist, {
  options: opts, tokenizer, tokens: grpo?.source ?? sft?.batches ?? byteTokenizer.encode(text), table, ep: { dispatch: 'fp8', combine: 'bf16' },
  layout: {
    schedule: par?.pipeline.schedule ?? '1F1B', pp: groups.pp.length, ep: par?.expert ?? 1,
    dp: par?.data ?? env.worldSize / groups.pp.length, microBatches: par?.pipeline.microBatches ?? groups.pp.length,
  },
}));

let lastProgress: ProgressReport | undefined;
let start: StartResult;
try {
  start = await startPoint(dist, trainer, engine.zero, spec, (f) => {
    if (env.rank === 0) log(f);
  });
} catch (e) {
  if (!(e instanceof StartFailure || e instanceof CheckpointAbort)) await dist.guard(() => Promise.reject(e));
  // Every rank reached the same verdict from the same reports: stop with it (exit 1, not a lost peer), after a last
  // rendezvous so that rank 0's store outlives everyone's verdict.
  if (env.rank === 0) log({ level: 'error', msg: (e as Error).message });
  process.stderr.write(`rank ${env.rank}: ${(e as Error).message}\n`);
  await dist.shutdown().catch(() => undefined);
  process.exit(1);
}
if (env.rank === 0) {
  // Before any step, so before any save: a fresh start must not share its folder with an old run's checkpoints.
  const aside = start.kind !== 'resumed' && !spec.resume ? setAsideCheckpoints(runDir) : undefined;
  if (aside) log({ level: 'warn', msg: `resumeFrom none: moved the checkpoints already in ${runDir} to ${aside}` });
  if (start.kind === 'resumed') log({ msg: 'resumed', step: trainer.step, dir: start.dir, writerRanks: start.writerRanks, restart: env.restart });
  else if (start.kind === 'initialised') log({ msg: 'initialised', fromStep: start.step, dir: start.dir, writerRanks: start.writerRanks, restart: env.restart });
  else log({ msg: 'started', restart: env.restart });
}
const reporter = env.rank === 0 ? OperatorReporter.fromEnv(process.env, (msg) => log({ level: 'warn', msg })) : undefined;
if (sft) log({ msg: 'sft data', conversations: sft.batches.samples.length, windowsPerEpoch: sft.batches.windowsOf(0).length, epochSteps: sft.epochSteps, steps: opts.steps });
if (sft?.heldOut) {
  // Every rank takes part in the gather; rank 0 scores the starting model.
  const w = await dist.guard(() => gatherWeights(trainer, placement, dist.world));
  if (w) {
    heldOutLoss = heldOut(w);
    log({ msg: 'held-out loss', step: trainer.step, heldOutLoss });
  }
}
const grpoRank: GrpoRank | undefined = grpo ? startGrpo(grpo, trainer, spec, (msg) => log({ level: 'warn', msg })) : undefined;
if (env.rank === 0) await grpoRank?.measureHeldOut(log);
while (trainer.step < opts.steps) {
  if (grpoRank) {
    const { batch, ...m } = await dist.guard(() => dpGrpoStep(engine as DataParallelTrainer, grpoRank.grpo));
    // Every rank sees the same sums, so every rank stops at the same step when the judge is down (exit 1, reported).
    if (grpoRank.after(m, batch, env.rank === 0 ? { log, reporter } : undefined) === 'judge-unavailable') {
      await reporter?.flush();
      await dist.shutdown().catch(() => undefined);
      process.exit(1);
    }
  } else {
    const m = await dist.guard(() => engine.trainStep());
    if (env.rank === 0) {
      log({ msg: 'step', step: m.step, loss: m.loss, mainLoss: m.mainLoss, gradNorm: m.gradNorm, lr: m.lr, tokensPerSec: m.tokens / m.seconds });
      // Every step holds the same number of tokens, so the total is step × tokens per step, across restarts too.
      reporter?.progress({ step: m.step, tokens: m.step * m.tokens, loss: m.loss, tokensPerSecond: m.tokens / m.seconds, ...(heldOutLoss !== undefined ? { heldOutLoss } : {}) });
      lastProgress = { step: m.step, tokens: m.step * m.tokens, loss: m.loss, tokensPerSecond: m.tokens / m.seconds };
    }
  }
  const m = { step: trainer.step };
  if ((opts.checkpointEvery > 0 && m.step % opts.checkpointEvery === 0) || m.step === opts.steps) {
    const dir = await dist.guard(() => saveSharded(runDir, trainer, engine.zero, dist.world, opts.keep));
    if (env.rank === 0) {
      log({ msg: 'checkpoint', step: m.step, dir });
      await reporter?.checkpoint({ step: m.step, uri: checkpointUri(dir, process.env.MOE_POD_ROOT) });
    }
  }
}
// Each rank holds only its part of the model: the writer of each tensor sends it to rank 0, which writes the export.
const weights = await dist.guard(() => gatherWeights(trainer, placement, dist.world));
await dist.shutdown();
if (env.rank === 0) await grpoRank?.measureHeldOut(log);
if (weights && sft?.heldOut) {
  heldOutLoss = heldOut(weights);
  log({ msg: 'held-out loss', step: trainer.step, heldOutLoss });
  if (lastProgress && heldOutLoss !== undefined) reporter?.progress({ ...lastProgress, heldOutLoss });
}
await reporter?.flush();
if (weights) {
  const exportDir = path.join(runDir, 'export');
  writeExport(exportDir, trainer.config, weights, { tokenizer: tokenizer.toJSON(), maxPositions: opts.seqLen });
  log({ msg: 'exported', step: trainer.step, dir: exportDir });
}
if (env.rank === 0) log({ msg: 'done', step: trainer.step });
