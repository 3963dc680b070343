// GRPO settings (pure): the job's spec.training.grpo with the CRD's defaults, checked with messages that name the
// field. The CRD validates a job before it is stored; local runs and hand-written plan documents pass through here.
import type { IMoETrainingJobSpecTrainingGrpo } from '../../../operator/api/types.gen.js';
import type { RewardSpec } from './rewards.js';
import type { JudgeTarget } from './judge.js';

export interface GrpoSettings {
  groupSize: number;
  promptsPerStep: number;
  temperature: number;
  topP: number;
  maxNewTokens: number;
  clipEpsilon: number;
  klCoef: number;
  rewards: RewardSpec[];
  /** Judge endpoints by InferenceDeployment name (the plan document's `judges`, or --judge flags). */
  judges: Record<string, JudgeTarget>;
  /** Held-out prompts (data.heldOutUri, --held-out): their greedy reward is measured at the start, checkpoints and end. */
  heldOutPath?: string;
}

export const GRPO_DEFAULTS = { groupSize: 8, promptsPerStep: 8, temperature: 1, topP: 1, maxNewTokens: 64, clipEpsilon: 0.2, klCoef: 0.04 } as const;

export function grpoSettings(g: IMoETrainingJobSpecTrainingGrpo | undefined, judges: Record<string, JudgeTarget> = {}): GrpoSettings {
  const s: GrpoSettings = { ...GRPO_DEFAULTS, ...stripUndefined(g ?? {}), rewards: g?.rewards ?? [], judges };
  const int = (k: 'groupSize' | 'promptsPerStep' | 'maxNewTokens', min: number): void => {
    if (!Number.isInteger(s[k]) || s[k] < min) throw new Error(`training.grpo.${k} must be an integer >= ${min}, got ${String(s[k])}`);
  };
  int('groupSize', 2);
  int('promptsPerStep', 1);
  int('maxNewTokens', 1);
  if (!(s.temperature >= 0)) throw new Error(`training.grpo.temperature must be >= 0, got ${s.temperature}`);
  if (!(s.topP > 0 && s.topP <= 1)) throw new Error(`training.grpo.topP must be in (0, 1], got ${s.topP}`);
  if (!(s.clipEpsilon > 0 && s.clipEpsilon < 1)) throw new Error(`training.grpo.clipEpsilon must be in (0, 1), got ${s.clipEpsilon}`);
  if (!(s.klCoef >= 0)) throw new Error(`training.grpo.klCoef must be >= 0, got ${s.klCoef}`);
  if (s.rewards.length === 0) throw new Error('training.grpo.rewards is empty: give at least one of exactMatch, regex, boxed, code, judge');
  return s;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** --judge NAME=URL[,MODEL] (local runs): the base URL of an OpenAI API (ending in /v1) and the served model name. */
export function parseJudgeFlag(v: string): [string, JudgeTarget] {
  const m = /^([^=]+)=(https?:\/\/[^,]+)(?:,(.+))?$/.exec(v);
  if (!m) throw new Error(`--judge must be NAME=URL[,MODEL] (e.g. judge=http://127.0.0.1:8000/v1,judge), got ${JSON.stringify(v)}`);
  return [m[1], { baseUrl: m[2], model: m[3] ?? m[1] }];
}
