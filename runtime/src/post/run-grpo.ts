// The single-process GRPO loop with its I/O (run.ts's counterpart for mode grpo): start as the environment says
// (resume the run folder's newest checkpoint, MOE_RESUME_*, or weights from MOE_INIT_URI), step, log each step to
// metrics.jsonl and the logger, update Prometheus gauges, save checkpoints in the background, final checkpoint; with
// held-out prompts, their reward at the start and at every checkpoint (held-out.ts). A step in which every judge call
// found the judge unavailable stops the run with JudgeUnavailableError.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import client from 'prom-client';
import { BackgroundSaver } from '../checkpoint/checkpoint-dirs.js';
import { applyStart, openStart } from '../train/start.js';
import { snapshot } from '../train/state.js';
import { metrics, type RunHooks } from '../train/run.js';
import type { TrainOptions } from '../train/options.js';
import type { Trainer } from '../train/trainer.js';
import { Grpo, grpoStep, type GrpoMetrics } from './grpo.js';
import { JudgeUnavailableError } from './judge.js';
import { Rewards } from './rewards.js';
import type { GrpoSettings } from './settings.js';
import { grpoTokenizer, grpoTrainer, loadPromptData, referencePolicy } from './start.js';
import { OperatorReporter, checkpointUri } from '../parallel/progress-report.js';
import { grpoProgress } from './report.js';
import { heldOutReward } from './held-out.js';

const reg = metrics.registry;
const gauge = (name: string, help: string): client.Gauge => new client.Gauge({ name, help, registers: [reg] });
export const grpoGauges = {
  rewardMean: gauge('moe_grpo_reward_mean', 'Mean reward of the last GRPO step'),
  rewardStd: gauge('moe_grpo_reward_std', 'Standard deviation of the rewards of the last GRPO step'),
  kl: gauge('moe_grpo_kl', 'Mean k3 KL estimate per response token against the reference policy, last step'),
  responseLength: gauge('moe_grpo_response_length', 'Mean response length in tokens, last step'),
  signal: gauge('moe_grpo_signal_fraction', 'Fraction of groups with non-zero reward variance, last step'),
  errors: gauge('moe_grpo_reward_errors', 'Reward evaluations that threw or timed out in the last step (scored 0)'),
  heldOut: gauge('moe_grpo_held_out_reward', 'Mean reward of one greedy response per held-out prompt, last measured'),
};

export function setGrpoGauges(m: GrpoMetrics): void {
  grpoGauges.rewardMean.set(m.rewardMean);
  grpoGauges.rewardStd.set(m.rewardStd);
  grpoGauges.kl.set(m.kl);
  grpoGauges.responseLength.set(m.responseLength);
  grpoGauges.signal.set(m.signalFraction);
  grpoGauges.errors.set(m.rewardErrors);
}

/** The line metrics.jsonl gets for a step (also the JSON log's fields). */
export function grpoLogFields(m: GrpoMetrics): Record<string, unknown> {
  const { judgeError, ...rest } = m;
  return { ...rest, ...(judgeError ? { judgeError } : {}) };
}

/** Every judge call of the step failed: the judge is unavailable, not one sample's answer. */
export function judgeDown(m: GrpoMetrics): boolean {
  return m.judgeCalls > 0 && m.judgeFailures === m.judgeCalls;
}

export interface GrpoHooks extends Omit<RunHooks, 'onStep'> {
  onStep?(m: GrpoMetrics, t: Trainer): void;
}

export async function runGrpo(opts: TrainOptions, s: GrpoSettings, promptsFile: string, runDir: string, hooks: GrpoHooks,
  env: NodeJS.ProcessEnv = process.env): Promise<Trainer> {
  mkdirSync(runDir, { recursive: true });
  const { spec, ck } = openStart(runDir, env, hooks);
  const tokenizer = grpoTokenizer(spec, opts);
  const data = loadPromptData(promptsFile, tokenizer, opts, s);
  const t = grpoTrainer(opts, tokenizer, data);
  applyStart(t, ck, spec, hooks);
  const gr = new Grpo(t, s, data, new Rewards(s.rewards, { judges: s.judges }), referencePolicy(opts, tokenizer, data, spec, hooks.warn));
  const heldOut = s.heldOutPath ? loadPromptData(s.heldOutPath, tokenizer, opts, s) : undefined;
  writeFileSync(path.join(runDir, 'tokenizer.json'), JSON.stringify(tokenizer.toJSON()));
  writeFileSync(path.join(runDir, 'train.json'), JSON.stringify({ ...opts, mode: 'grpo', grpo: { ...s, judges: undefined } }, null, 2));
  // In a one-rank pod, rank 0's reports reach the operator as the distributed entrypoint's do.
  const reporter = OperatorReporter.fromEnv(env, hooks.warn);
  const saver = new BackgroundSaver(runDir, opts.keep, (step, dir, secs) => {
    hooks.info('checkpoint written', { step, dir, seconds: Number(secs.toFixed(3)) });
    void reporter?.checkpoint({ step, uri: checkpointUri(dir, env.MOE_POD_ROOT) });
  }, (e) => hooks.warn(`checkpoint failed: ${e.message}`));
  const metricsFile = path.join(runDir, 'metrics.jsonl');
  /** The held-out reward at this step: a {mode: "grpo", step, heldOutReward} row, the log and the gauge. */
  const measureHeldOut = async (): Promise<void> => {
    if (!heldOut) return;
    const h = await heldOutReward(t, s, heldOut, gr.rewards);
    grpoGauges.heldOut.set(h.heldOutReward);
    appendFileSync(metricsFile, JSON.stringify({ mode: 'grpo', step: t.step, ...h }) + '\n');
    hooks.info('held-out reward', { step: t.step, ...h });
  };
  let reportedIsolation = false;
  try {
    await measureHeldOut();
    while (t.step < opts.steps) {
      const { batch, ...m } = await grpoStep(gr);
      setGrpoGauges(m);
      reporter?.progress(grpoProgress(m));
      appendFileSync(metricsFile, JSON.stringify({ mode: 'grpo', ...grpoLogFields(m) }) + '\n');
      if (batch.messages.length) hooks.warn(`step ${m.step}: ${m.rewardErrors} reward evaluation(s) failed and scored 0: ${batch.messages.join('; ')}`);
      if (batch.isolation && !reportedIsolation) {
        reportedIsolation = true;
        hooks.info('code rewards run sandboxed', { isolation: batch.isolation });
      }
      hooks.onStep?.(m, t);
      if (judgeDown(m)) throw new JudgeUnavailableError(m.judgeError!.url, `every judge call of step ${m.step} failed: ${m.judgeError!.error}`);
      if ((opts.checkpointEvery > 0 && m.step % opts.checkpointEvery === 0) || m.step === opts.steps) {
        void saver.save(m.step, snapshot(t));
        await measureHeldOut();
      }
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    await saver.close();
    await reporter?.flush();
  }
  return t;
}
