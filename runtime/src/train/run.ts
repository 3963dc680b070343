// The training loop with its I/O: start as the environment says (train/start.ts: resume from the run directory's
// newest good checkpoint by default, or MOE_RESUME_URI/STEP, MOE_RESUME_FROM, weights from MOE_INIT_URI), train, log each step to
// metrics.jsonl and the logger, update Prometheus gauges, save checkpoints in the background, final checkpoint.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import client from 'prom-client';
import { BackgroundSaver } from '../checkpoint/checkpoint-dirs.js';
import { applyStart, openStart } from './start.js';
import { checkpointTokenizer } from '../post/start.js';
import { joinDocuments, readDocuments } from '../data/corpus.js';
import { byteTokenizer, tokenizerFromJSON, withChatTokens, type Tokenizer } from '../data/tokenizer.js';
import { chatLayout, heldOutLoss, sftData } from './sft.js';
import { bpeTokenizer, trainBpe } from '../data/bpe.js';
import { modelConfig } from '../model/config.js';
import { snapshot } from './state.js';
import { Trainer, type StepMetrics } from './trainer.js';
import type { TrainOptions } from './options.js';

export interface RunHooks {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string): void;
  /** Called after every step (progress bar, JSON log). */
  onStep?(m: StepMetrics, t: Trainer): void;
}

export const metrics = {
  registry: new client.Registry(),
};
const reg = metrics.registry;
const gLoss = new client.Gauge({ name: 'moe_train_loss', help: 'Main-model cross-entropy of the last step', registers: [reg] });
const gTps = new client.Gauge({ name: 'moe_train_tokens_per_second', help: 'Training tokens per second of the last step', registers: [reg] });
const gStep = new client.Gauge({ name: 'moe_train_step', help: 'Steps completed', registers: [reg] });
const gLoad = new client.Gauge({ name: 'moe_expert_load_tokens', help: 'Tokens routed to each expert in the last step', labelNames: ['layer', 'expert'], registers: [reg] });
const gSpread = new client.Gauge({ name: 'moe_router_bias_spread', help: 'max − min of the routers\u2019 correction bias', registers: [reg] });
const gHeldOut = new client.Gauge({ name: 'moe_train_held_out_loss', help: 'SFT: mean cross-entropy over the held-out assistant tokens', registers: [reg] });
const hCkpt = new client.Histogram({ name: 'moe_checkpoint_seconds', help: 'Checkpoint write duration', buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120], registers: [reg] });

export async function runTraining(opts: TrainOptions, dataPath: string, runDir: string, hooks: RunHooks,
  env: NodeJS.ProcessEnv = process.env): Promise<Trainer> {
  mkdirSync(runDir, { recursive: true });
  const text = opts.sft ? undefined : joinDocuments(readDocuments(dataPath));
  const { spec, ck } = openStart(runDir, env, hooks);
  // The tokenizer saved with the run wins, then (fine-tuning) the initial checkpoint's; a new BPE run trains one
  // (deterministically) up to vocab_size. The chat template's special tokens get ids when the vocabulary has room.
  const saved = ck?.files.get('tokenizer.json');
  const vocab = modelConfig(opts.preset, opts.overrides).vocab_size;
  const fresh = (): Tokenizer => (opts.sft && spec.init && checkpointTokenizer(spec.init.path))
    || (opts.tokenizer === 'bpe' ? bpeTokenizer(trainBpe(text ?? '', vocab)) : byteTokenizer);
  const tokenizer = saved ? tokenizerFromJSON(JSON.parse(Buffer.from(saved).toString('utf8'))) : withChatTokens(fresh(), vocab);
  if (tokenizer.kind !== opts.tokenizer) throw new Error(`${runDir} was trained with the ${tokenizer.kind} tokenizer; pass --tokenizer ${tokenizer.kind} or use a new --run-dir`);
  const sft = opts.sft ? sftData(opts, opts.sft, modelConfig(opts.preset, opts.overrides), tokenizer, dataPath) : undefined;
  if (sft) {
    opts = sft.options;
    hooks.info('sft data', { conversations: sft.batches.samples.length, windowsPerEpoch: sft.batches.windowsOf(0).length, epochSteps: sft.epochSteps, steps: opts.steps });
  }
  const t = new Trainer(opts, tokenizer, sft ? sft.batches : tokenizer.encode(text!));
  const heldOut = (): number | undefined => sft?.heldOut && opts.sft ? heldOutLoss(t, sft.heldOut, chatLayout(opts, opts.sft, t.config), opts.batch) : undefined;
  writeFileSync(path.join(runDir, 'tokenizer.json'), JSON.stringify(tokenizer.toJSON()));
  applyStart(t, ck, spec, hooks);
  writeFileSync(path.join(runDir, 'train.json'), JSON.stringify(opts, null, 2));
  const metricsFile = path.join(runDir, 'metrics.jsonl');
  const logHeldOut = (): void => {
    const h = heldOut();
    if (h === undefined) return;
    gHeldOut.set(h);
    appendFileSync(metricsFile, JSON.stringify({ step: t.step, heldOutLoss: h }) + '\n');
    hooks.info('held-out loss', { step: t.step, heldOutLoss: Number(h.toFixed(4)) });
  };
  logHeldOut();
  const saver = new BackgroundSaver(runDir, opts.keep, (step, dir, s) => {
    hCkpt.observe(s);
    hooks.info('checkpoint written', { step, dir, seconds: Number(s.toFixed(3)) });
  }, (e) => hooks.warn(`checkpoint failed: ${e.message}`));
  while (t.step < opts.steps) {
    const m = t.trainStep();
    const tps = m.tokens / m.seconds;
    gLoss.set(m.mainLoss);
    gTps.set(tps);
    gStep.set(m.step);
    gSpread.set(m.biasSpread);
    m.expertLoad.forEach((layer, l) => layer.forEach((v, e) => gLoad.set({ layer: String(l), expert: String(e) }, v)));
    const logLoad = m.step % 10 === 0 || m.step === opts.steps;
    appendFileSync(metricsFile, JSON.stringify({ step: m.step, loss: m.loss, mainLoss: m.mainLoss, mtpLoss: m.mtpLoss, balance: m.balance, gradNorm: m.gradNorm, lr: m.lr, tokensPerSec: tps, precision: opts.precision, biasSpread: m.biasSpread, ...(logLoad ? { expertLoad: m.expertLoad } : {}) }) + '\n');
    hooks.onStep?.(m, t);
    if ((opts.checkpointEvery > 0 && m.step % opts.checkpointEvery === 0) || m.step === opts.steps) {
      void saver.save(m.step, snapshot(t));
      logHeldOut();
    }
    // Let finished saves report and the metrics endpoint answer between steps.
    await new Promise((r) => setImmediate(r));
  }
  await saver.close();
  return t;
}
