#!/usr/bin/env node
// moe-runtime: train | generate | export | report | corpus | serve | eval. In a pod, settings come from MOE_PLAN and the env of
// DESIGN.md §4; locally from flags.
import { parseArgs } from 'node:util';
import { createServer } from 'node:http';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import winston from 'winston';
import { defaultTrainOptions, validateTrainOptions, type TrainOptions } from './train/options.js';
import { PRECISIONS, type Precision } from './model/precision.js';
import { metrics, runTraining } from './train/run.js';
import { generate } from './generate.js';
import { writeReport } from '../../operator/report/training-report.js';
import { syntheticChat, syntheticCorpus } from './data/grammar.js';
import { loadLatest } from './checkpoint/checkpoint-dirs.js';
import { uriPath } from './checkpoint/resume.js';
import { writeExport } from './checkpoint/export.js';
import { readWeights, STATE_FILE } from './train/state.js';
import { modelConfig } from './model/config.js';
import { settingsFromPlan } from './train/plan.js';
import { SFT_DEFAULTS, validateSft } from './train/sft.js';
import { runGrpo } from './post/run-grpo.js';
import { grpoSettings, parseJudgeFlag } from './post/settings.js';
import { RankEnv, TrainEnv, parsePlanDocument, type PodPlanDocument } from '../../operator/contract/index.js';
import { SERVE_USAGE } from './serve/http/usage.js';
import { EVAL_USAGE } from './eval/usage.js';
import { launchesRanks } from './comm/pod-launch-plan.js';
import { launchPod } from './comm/pod-launch.js';

const USAGE = `usage: moe-runtime <command> [flags]
  train     --data PATH --run-dir DIR [--preset deepseek-v3-tiny] [--precision fp8|bf16|fp32] [--steps N] [--batch B]
            [--seq-len S] [--lr X] [--warmup N] [--seed N] [--checkpoint-every N] [--keep K] [--gamma X] [--alpha X]
            [--mtp-lambda X] [--metrics-port P] [--json] [--model-overrides JSON] [--tokenizer bytes|bpe]
            [--mode pretrain|sft|grpo] [--epochs N] [--packing true|false] [--held-out PATH]
            [--grpo JSON] [--judge NAME=URL[,MODEL]]...
            (sft: --data is chat JSONL, {"messages": [{"role", "content"}]} a line; start from a checkpoint with
            MOE_INIT_URI=<run or step folder>; steps = min(--steps, the epochs over the packed data))
            (grpo: --data is prompts JSONL, {"prompt" or "messages", "reference"} a line; --grpo is the job's
            spec.training.grpo as JSON, e.g. '{"groupSize":8,"rewards":[{"type":"boxed"}]}'; --judge gives the OpenAI
            base URL of each judge InferenceDeployment named in its rewards; --held-out: prompts whose greedy reward
            is measured at the start and at checkpoints)
  generate  --run-dir DIR --prompt TEXT [--tokens N]
  export    --run-dir DIR --out DIR [--fp8-blocks whole|release]
            (DeepSeek's FP8 layout from the latest checkpoint, readable by transformers; partial 128×128 blocks in
            BF16 (whole, default) or in FP8 as released (release, for DeepSeek's FP8 inference))
  report    RUN_DIR [OTHER_RUN...]            (SVGs into RUN_DIR/report/)
  corpus    [--seed N] [--bytes N] [--chat N]  (the synthetic example corpus on stdout; --chat: N conversations as
                                              chat JSONL in its language, SFT's example data)
${SERVE_USAGE}
${EVAL_USAGE}`;

function num(v: string | undefined, flag: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${flag} must be a number, got ${JSON.stringify(v)}`);
  return n;
}

function parseOverrides(v: string | undefined): Record<string, number> {
  if (v === undefined) return {};
  let o: unknown;
  try {
    o = JSON.parse(v);
  } catch {
    throw new Error(`--model-overrides must be a JSON object of config.json fields, e.g. '{"hidden_size":128}', got ${v}`);
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new Error('--model-overrides must be a JSON object');
  return o as Record<string, number>;
}

/** The operator's plan document (MOE_PLAN), if the pod has one. */
function readPlan(): PodPlanDocument | undefined {
  const file = process.env[TrainEnv.plan];
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${TrainEnv.plan}=${file}: cannot read the plan document (${(e as Error).message})`);
  }
  return parsePlanDocument(text, `${TrainEnv.plan}=${file}`);
}

/** --mode sft and its flags over the plan's training.sft (train/sft.ts); pretrain drops them. */
function sftFlags(v: { mode?: string; epochs?: string; packing?: string; 'held-out'?: string }, base: TrainOptions): Pick<TrainOptions, 'sft'> {
  const mode = v.mode ?? (base.sft ? 'sft' : 'pretrain');
  if (mode !== 'pretrain' && mode !== 'sft' && mode !== 'grpo') throw new Error(`--mode must be pretrain, sft or grpo, got ${mode}`);
  if (mode !== 'sft') {
    if (v.epochs ?? v.packing) throw new Error('--epochs and --packing are SFT flags: add --mode sft');
    if (mode !== 'grpo' && v['held-out']) throw new Error('--held-out is read by --mode sft (held-out loss) and --mode grpo (held-out reward)');
    return { sft: undefined };
  }
  if (v.packing !== undefined && v.packing !== 'true' && v.packing !== 'false') throw new Error(`--packing must be true or false, got ${v.packing}`);
  const heldOutPath = v['held-out'] ?? base.sft?.heldOutPath;
  return {
    sft: validateSft({
      epochs: num(v.epochs, '--epochs', base.sft?.epochs ?? SFT_DEFAULTS.epochs),
      packing: v.packing === undefined ? base.sft?.packing ?? SFT_DEFAULTS.packing : v.packing === 'true',
      ...(heldOutPath ? { heldOutPath } : {}),
    }),
  };
}

async function train(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' }, 'run-dir': { type: 'string' }, preset: { type: 'string' }, precision: { type: 'string' },
      steps: { type: 'string' }, batch: { type: 'string' }, 'seq-len': { type: 'string' }, lr: { type: 'string' },
      warmup: { type: 'string' }, seed: { type: 'string' }, 'checkpoint-every': { type: 'string' }, keep: { type: 'string' },
      gamma: { type: 'string' }, alpha: { type: 'string' }, 'mtp-lambda': { type: 'string' }, 'metrics-port': { type: 'string' },
      json: { type: 'boolean' }, 'model-overrides': { type: 'string' }, tokenizer: { type: 'string' },
      mode: { type: 'string' }, epochs: { type: 'string' }, packing: { type: 'string' }, 'held-out': { type: 'string' },
      grpo: { type: 'string' }, judge: { type: 'string', multiple: true },
    },
  });
  // A pod of a multi-rank job: the distributed entrypoint takes everything from MOE_PLAN and the pod contract.
  const worldSize = process.env[RankEnv.worldSize];
  if (Number(worldSize ?? '1') > 1) {
    if (argv.length) throw new Error(`${RankEnv.worldSize}=${worldSize}: the distributed trainer takes its settings from ${TrainEnv.plan}; drop the flags ${argv.join(' ')}`);
    // A pod of several GPUs (LOCAL_WORLD_SIZE > 1) runs one process per GPU, started here (comm/pod-launch.ts).
    if (launchesRanks(process.env)) {
      process.exitCode = await launchPod();
      return;
    }
    await import('./parallel/main.js');
    return;
  }
  const doc = readPlan();
  const fromPlan = doc ? settingsFromPlan(doc, defaultTrainOptions()) : undefined;
  // The operator sets MOE_CHECKPOINT_DIR to the plan's checkpoint.dir; a --run-dir flag wins over both.
  const ckDir = process.env[TrainEnv.checkpointDir];
  const runDir = values['run-dir'] ?? (ckDir ? uriPath(ckDir, TrainEnv.checkpointDir) : undefined) ?? fromPlan?.runDir;
  if (!runDir) throw new Error('--run-dir is required (or MOE_PLAN with checkpoint.dir)');
  const precision = (values.precision ?? fromPlan?.options.precision ?? 'fp8') as Precision;
  if (!PRECISIONS.includes(precision)) throw new Error(`--precision must be one of ${PRECISIONS.join(', ')}, got ${precision}`);
  const steps = num(values.steps, '--steps', fromPlan?.options.steps ?? 300);
  const defaults = defaultTrainOptions({ steps });
  // Flags override the plan, the plan overrides the defaults.
  const base = fromPlan ? { ...fromPlan.options, steps, optimizer: { ...fromPlan.options.optimizer, totalSteps: steps } } : defaults;
  const opts: TrainOptions = validateTrainOptions({
    ...base,
    preset: values.preset ?? base.preset,
    tokenizer: (values.tokenizer ?? base.tokenizer) as TrainOptions['tokenizer'],
    // The byte tokenizer shrinks the tiny preset's vocabulary to 256; BPE keeps the preset's.
    overrides: { ...((values.preset && values.preset !== 'deepseek-v3-tiny') || values.tokenizer === 'bpe' ? {} : base.overrides), ...parseOverrides(values['model-overrides']) },
    precision,
    seed: num(values.seed, '--seed', base.seed),
    batch: num(values.batch, '--batch', base.batch),
    seqLen: num(values['seq-len'], '--seq-len', base.seqLen),
    optimizer: { ...base.optimizer, lr: num(values.lr, '--lr', base.optimizer.lr), warmupSteps: num(values.warmup, '--warmup', base.optimizer.warmupSteps) },
    checkpointEvery: num(values['checkpoint-every'], '--checkpoint-every', base.checkpointEvery),
    keep: num(values.keep, '--keep', base.keep),
    gamma: num(values.gamma, '--gamma', base.gamma),
    alpha: num(values.alpha, '--alpha', base.alpha),
    mtpLambda: num(values['mtp-lambda'], '--mtp-lambda', base.mtpLambda),
    ...sftFlags(values, base),
  });
  const tty = process.stderr.isTTY && !values.json;
  const log = winston.createLogger({ level: 'info', format: winston.format.combine(winston.format.timestamp(), winston.format.json()), transports: [new winston.transports.Console({ stderrLevels: [] })] });
  const info = (msg: string, fields: Record<string, unknown> = {}): void => {
    if (tty) process.stderr.write(`\n${msg} ${Object.keys(fields).length ? JSON.stringify(fields) : ''}\n`);
    else log.info(msg, fields);
  };
  const server = values['metrics-port'] ? createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    void metrics.registry.metrics().then((m) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(m));
  }).listen(Number(values['metrics-port'])) : undefined;
  const t0 = Date.now();
  let ema = 0;
  try {
    let dataPath = values.data ?? fromPlan?.dataPath;
    if (!dataPath && fromPlan) {
      // data.format synthetic: the grammar corpus from the job's seed, written into the run directory.
      dataPath = path.join(runDir, 'data', 'synthetic.txt');
      mkdirSync(path.dirname(dataPath), { recursive: true });
      writeFileSync(dataPath, syntheticCorpus(opts.seed, 400000));
    }
    dataPath ??= 'examples/corpus';
    const mode = values.mode ?? doc?.training?.mode ?? 'pretrain';
    if (mode !== 'grpo' && (values.grpo ?? values.judge)) throw new Error('--grpo and --judge are GRPO flags: add --mode grpo');
    // The one switch between the modes' loops: GRPO has its own (post/run-grpo.ts); pretrain and sft share runTraining.
    if (mode === 'grpo') {
      const judges = { ...(doc?.judges ?? {}), ...Object.fromEntries((values.judge ?? []).map(parseJudgeFlag)) };
      let spec = doc?.training?.grpo;
      if (values.grpo !== undefined) {
        try {
          spec = JSON.parse(values.grpo);
        } catch (e) {
          throw new Error(`--grpo must be the JSON of spec.training.grpo, e.g. '{"groupSize":8,"rewards":[{"type":"boxed"}]}': ${(e as Error).message}`);
        }
      }
      const heldOutPath = values['held-out'] ?? fromPlan?.grpoHeldOutPath;
      await runGrpo({ ...opts, mtpLambda: 0 }, { ...grpoSettings(spec, judges), ...(heldOutPath ? { heldOutPath } : {}) }, dataPath, runDir, {
        info, warn: (m) => (tty ? process.stderr.write(`\nwarning: ${m}\n`) : log.warn(m)),
        onStep(m) {
          if (tty) process.stderr.write(`\rstep ${m.step}/${opts.steps} reward ${m.rewardMean.toFixed(3)} ± ${m.rewardStd.toFixed(3)} kl ${m.kl.toFixed(4)} signal ${m.signalFraction.toFixed(2)} len ${m.responseLength.toFixed(1)}   `);
          else log.info('step', { mode: 'grpo', step: m.step, loss: m.loss, rewardMean: m.rewardMean, rewardStd: m.rewardStd, kl: m.kl, responseLength: m.responseLength, signalFraction: m.signalFraction, rewardErrors: m.rewardErrors });
        },
      });
      info('training finished', { runDir, seconds: (Date.now() - t0) / 1000 });
      return;
    }
    await runTraining(opts, dataPath, runDir, {
      info,
      warn: (m) => (tty ? process.stderr.write(`\nwarning: ${m}\n`) : log.warn(m)),
      onStep(m, t) {
        const tps = m.tokens / m.seconds;
        ema = ema === 0 ? tps : 0.9 * ema + 0.1 * tps;
        if (tty) {
          const w = 30;
          // SFT's run may be shorter than --steps (its epochs): the trainer's options hold the run's length.
          const steps = t.options.steps;
          const done = Math.round((w * m.step) / steps);
          const eta = ((steps - m.step) * opts.batch * opts.seqLen) / ema;
          process.stderr.write(`\r[${'#'.repeat(done)}${'-'.repeat(w - done)}] step ${m.step}/${steps} loss ${m.mainLoss.toFixed(4)} ${ema.toFixed(0)} tok/s ETA ${Math.round(eta)}s   `);
        } else log.info('step', { step: m.step, loss: m.loss, mainLoss: m.mainLoss, mtpLoss: m.mtpLoss, gradNorm: m.gradNorm, lr: m.lr, tokensPerSec: Math.round(tps) });
      },
    });
  } finally {
    server?.close();
  }
  info('training finished', { runDir, seconds: (Date.now() - t0) / 1000 });
}

function doExport(argv: string[]): void {
  const { values } = parseArgs({ args: argv, options: { 'run-dir': { type: 'string' }, out: { type: 'string' }, 'fp8-blocks': { type: 'string' } } });
  if (!values['run-dir'] || !values.out) throw new Error('export needs --run-dir DIR and --out DIR');
  const blocks = values['fp8-blocks'] ?? 'whole';
  if (blocks !== 'whole' && blocks !== 'release') throw new Error(`--fp8-blocks must be whole or release, got ${JSON.stringify(blocks)}`);
  const ck = loadLatest(values['run-dir'], (m) => process.stderr.write(`warning: ${m}\n`));
  if (!ck) throw new Error(`${values['run-dir']} has no usable checkpoint`);
  const opts = JSON.parse(Buffer.from(ck.files.get('train.json')!).toString()) as TrainOptions;
  const c = modelConfig(opts.preset, opts.overrides);
  const weights = readWeights(ck.files.get(STATE_FILE)!);
  const tok = ck.files.get('tokenizer.json');
  if (!tok) throw new Error(`${ck.dir} lacks tokenizer.json; the export needs the run's tokenizer`);
  writeExport(values.out, c, weights, { tokenizer: JSON.parse(Buffer.from(tok).toString('utf8')) as object, maxPositions: opts.seqLen, fp8Blocks: blocks });
  process.stdout.write(`exported step ${ck.step} to ${values.out}\n`);
}

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  switch (cmd) {
    case 'train':
      return train(rest);
    case 'generate': {
      const { values } = parseArgs({ args: rest, options: { 'run-dir': { type: 'string' }, prompt: { type: 'string' }, tokens: { type: 'string' } } });
      if (!values['run-dir']) throw new Error('generate needs --run-dir DIR');
      process.stdout.write(generate(values['run-dir'], values.prompt ?? 'the ', num(values.tokens, '--tokens', 120)) + '\n');
      return;
    }
    case 'export':
      return doExport(rest);
    case 'report': {
      const { positionals } = parseArgs({ args: rest, allowPositionals: true, options: {} });
      if (positionals.length === 0) throw new Error('report needs RUN_DIR');
      for (const p of writeReport(positionals[0], positionals.slice(1))) process.stdout.write(`${p}\n`);
      return;
    }
    case 'serve': {
      // Loaded on demand: the serving stack is not needed by the other commands.
      const { serveMain } = await import('./serve/http/main.js');
      return serveMain(rest);
    }
    case 'eval': {
      // Loaded on demand, as serve: the engine and the sandbox are not needed by the other commands.
      const { evalMain } = await import('./eval/main.js');
      process.exitCode = await evalMain(rest);
      return;
    }
    case 'corpus': {
      const { values } = parseArgs({ args: rest, options: { seed: { type: 'string' }, bytes: { type: 'string' }, chat: { type: 'string' } } });
      const seed = num(values.seed, '--seed', 42);
      if (values.chat !== undefined) process.stdout.write(syntheticChat(seed, num(values.chat, '--chat', 0)).map((c) => JSON.stringify(c)).join('\n') + '\n');
      else process.stdout.write(syntheticCorpus(seed, num(values.bytes, '--bytes', 400000)));
      return;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      process.exitCode = cmd === undefined || cmd === 'help' || cmd === '--help' ? 0 : 2;
  }
}

main().catch((e: Error) => {
  process.stderr.write(`moe-runtime: ${e.message}\n`);
  process.exitCode = 1;
});
