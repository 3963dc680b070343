// GRPO in the distributed entrypoint (parallel/main.ts), I/O wiring kept out of its loop: the settings from the plan
// document (training.grpo, data.uri, data.heldOutUri, the operator's resolved `judges`), the layout check, the prompts,
// and after each step the log line, the gauges and the progress report (rank 0), and the judge verdict every rank
// reaches alike; rank 0's held-out reward (every rank holds the whole model in this mode, so no gather).
import { TrainEnv, type PodPlanDocument } from '../../../operator/contract/index.js';
import type { StartSpec } from '../checkpoint/resume.js';
import type { Sampler } from '../data/sampler.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { podPath } from '../kube/pod-path.js';
import type { OperatorReporter } from '../parallel/progress-report.js';
import { grpoLayoutProblem } from '../parallel/dp-grpo.js';
import type { PlanSettings } from '../train/plan.js';
import type { TrainOptions } from '../train/options.js';
import type { Trainer } from '../train/trainer.js';
import { Grpo, promptSampler, type GrpoData, type GrpoMetrics, type LocalBatch } from './grpo.js';
import { Rewards } from './rewards.js';
import { grpoGauges, grpoLogFields, judgeDown, setGrpoGauges } from './run-grpo.js';
import { heldOutReward } from './held-out.js';
import { grpoSettings, type GrpoSettings } from './settings.js';
import { grpoTokenizer, loadPromptData, referencePolicy } from './start.js';
import { grpoProgress } from './report.js';

export interface GrpoPlan {
  settings: GrpoSettings;
  data: GrpoData;
  /** data.heldOutUri's prompts, when given (rank 0 measures their reward at the start and the end). */
  heldOut?: GrpoData;
  tokenizer: Tokenizer;
  source: Sampler;
}

/** Everything GRPO needs from the plan document, checked before any rank connects (errors name the field). */
export function grpoFromPlan(doc: PodPlanDocument, ps: PlanSettings, opts: TrainOptions, spec: StartSpec, worldSize: number): GrpoPlan {
  const where = `${TrainEnv.plan}`;
  const settings = grpoSettings(doc.training?.grpo, doc.judges ?? {});
  const par = doc.plan?.parallelism;
  const layout = { pp: par?.pipeline.stages ?? 1, ep: par?.expert ?? 1, dp: par?.data ?? worldSize };
  const problem = grpoLayoutProblem(layout, settings.promptsPerStep);
  if (problem) throw new Error(`${where}: ${problem}`);
  if (doc.data?.format !== 'prompts' || !ps.dataPath) throw new Error(`${where}: training.mode grpo needs data.format prompts and data.uri (JSONL lines {"prompt" or "messages", "reference"}), got format ${String(doc.data?.format)}`);
  const tokenizer = grpoTokenizer(spec, opts);
  const data = loadPromptData(podPath(ps.dataPath), tokenizer, opts, settings);
  const heldOut = ps.grpoHeldOutPath ? loadPromptData(podPath(ps.grpoHeldOutPath), tokenizer, opts, settings) : undefined;
  return { settings, data, tokenizer, source: promptSampler(data.ids.length, opts.seed), ...(heldOut ? { heldOut } : {}) };
}

export interface GrpoRank {
  grpo: Grpo;
  /** Logs and reports a step (rank 0 passes its log and reporter); 'judge-unavailable' when the run must stop. */
  after(m: GrpoMetrics, b: LocalBatch, rank0?: { log(f: Record<string, unknown>): void; reporter?: OperatorReporter }): 'judge-unavailable' | undefined;
  /** Rank 0: the held-out reward of its (whole) current weights, logged; nothing without data.heldOutUri. */
  measureHeldOut(log: (f: Record<string, unknown>) => void): Promise<void>;
}

/** The GRPO step object over a started trainer (after resume or init): the reference is the starting checkpoint's weights. */
export function startGrpo(p: GrpoPlan, trainer: Trainer, spec: StartSpec, warn: (m: string) => void): GrpoRank {
  const grpo = new Grpo(trainer, p.settings, p.data, new Rewards(p.settings.rewards, { judges: p.settings.judges }), referencePolicy(trainer.options, p.tokenizer, p.data, spec, warn));
  let isolationLogged = false;
  return {
    grpo,
    after(m, b, rank0) {
      if (b.messages.length) warn(`step ${m.step}: ${b.sums.rewardErrors} reward evaluation(s) on this rank failed and scored 0: ${b.messages.join('; ')}`);
      const down = judgeDown(m);
      if (rank0) {
        if (b.isolation && !isolationLogged) {
          isolationLogged = true;
          rank0.log({ msg: 'code rewards run sandboxed', isolation: b.isolation });
        }
        setGrpoGauges(m);
        rank0.log({ msg: 'step', mode: 'grpo', ...grpoLogFields(m) });
        rank0.reporter?.progress(grpoProgress(m));
        if (down) rank0.log({ level: 'error', msg: `judge unavailable: every judge call of step ${m.step} failed`, judge: m.judgeError });
      }
      return down ? 'judge-unavailable' : undefined;
    },
    async measureHeldOut(log) {
      if (!p.heldOut) return;
      const h = await heldOutReward(trainer, p.settings, p.heldOut, grpo.rewards);
      grpoGauges.heldOut.set(h.heldOutReward);
      log({ msg: 'held-out reward', mode: 'grpo', step: trainer.step, ...h });
    },
  };
}
