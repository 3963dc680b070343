// GRPO's rewards: rule-based (exactMatch, regex, boxed, code in the sandbox) and model-based (judge.ts). A sample's
// reward is the weighted sum of its rewards. A reward that throws or runs past its time limit scores 0 for that
// sample and is counted (RewardOutcome.errors), never fails the step; a judge that was unreachable is named
// (judgeFailures) so the job can say which URL failed.
import { answersMatch, lastBoxed } from '../eval/answer.js';
import { runSandboxed, type SandboxLanguage, type SandboxResult } from '../sandbox/sandbox.js';
import { JudgeClient, JudgeUnavailableError, type JudgeTarget } from './judge.js';
import type { IMoETrainingJobSpecTrainingGrpoRewardsItem as RewardSpec } from '../../../operator/api/types.gen.js';

export type { RewardSpec };

export interface Sample {
  /** The prompt as the judge sees it. */
  question: string;
  response: string;
  reference: string;
  language: SandboxLanguage;
  /** What a code reward's program starts with before the response (a plain prompt; empty for chat). */
  codePrefix?: string;
}

export const DEFAULT_REWARD_TIMEOUT_SECONDS = 10;
export const DEFAULT_CODE_MEMORY_MIB = 512;

/** 1 when the response equals the reference after trimming both. */
export const exactMatch = (response: string, reference: string): number => (response.trim() === reference.trim() ? 1 : 0);

/** 1 when the pattern (a JavaScript regular expression, unicode mode) matches somewhere in the response. */
export const regexReward = (response: string, pattern: RegExp): number => (pattern.test(response) ? 1 : 0);

/** 1 when the last \boxed{...} holds the reference (the same text after trimming, or the same number: "1,234" = "1234.0"). */
export const boxedReward = (response: string, reference: string): number => (answersMatch(lastBoxed(response), reference) ? 1 : 0);

/** The program a code reward runs: the prompt it continues (plain prompts), the response, then the reference's tests; it passes when it exits 0. */
export const codeProgram = (prefix: string, response: string, tests: string): string => `${prefix}${response}\n\n${tests}\n`;

export class RewardTimeout extends Error {
  constructor(what: string, seconds: number) {
    super(`${what} reward took longer than ${seconds} s`);
    this.name = 'RewardTimeout';
  }
}

function withTimeout<T>(p: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RewardTimeout(what, seconds)), seconds * 1000);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export interface RewardDeps {
  /** The judges' endpoints by InferenceDeployment name (the plan document's `judges`). */
  judges: Record<string, JudgeTarget>;
  /** The sandbox (tests may pass a stand-in). */
  run?: typeof runSandboxed;
}

/** What scoring a batch of samples gave. */
export interface RewardOutcome {
  /** Weighted sum per sample. */
  rewards: number[];
  /** Reward evaluations that threw or timed out (each scored 0). */
  errors: number;
  /** The first few error messages (for the log). */
  messages: string[];
  /** Judge calls made and those that found the judge unavailable, by URL (the last error of each). */
  judgeCalls: number;
  judgeFailures: number;
  judgeError?: { url: string; error: string };
  /** What isolated code runs (the sandbox's description), when a code reward ran. */
  isolation?: string;
}

/** One reward function, ready to score: validated once, so a bad spec fails at the start, not per sample. */
interface Scorer {
  type: RewardSpec['type'];
  weight: number;
  timeoutSeconds: number;
  /** Backstop on one evaluation, beyond the sandbox's and the judge client's own limits. */
  limitSeconds: number;
  judge?: JudgeClient;
  score(s: Sample, out: RewardOutcome): Promise<number>;
}

function scorer(r: RewardSpec, i: number, deps: RewardDeps): Scorer {
  const where = `training.grpo.rewards[${i}]`;
  const weight = r.weight ?? 1;
  if (!Number.isFinite(weight)) throw new Error(`${where}.weight must be a finite number, got ${String(r.weight)}`);
  const timeoutSeconds = r.timeoutSeconds ?? DEFAULT_REWARD_TIMEOUT_SECONDS;
  if (!(timeoutSeconds > 0)) throw new Error(`${where}.timeoutSeconds must be > 0, got ${String(r.timeoutSeconds)}`);
  const retries = r.judge?.retries ?? 2;
  // A judge call may try 1 + retries times with backoff (at most 5 s each); the others get a few seconds of slack.
  const limitSeconds = r.type === 'judge' ? (timeoutSeconds + 5) * (retries + 1) : timeoutSeconds + 5;
  const base = { type: r.type, weight, timeoutSeconds, limitSeconds };
  switch (r.type) {
    case 'exactMatch':
      return { ...base, score: async (s) => exactMatch(s.response, s.reference) };
    case 'boxed':
      return { ...base, score: async (s) => boxedReward(s.response, s.reference) };
    case 'regex': {
      if (typeof r.pattern !== 'string') throw new Error(`${where}: type regex needs "pattern" (a JavaScript regular expression)`);
      let re: RegExp;
      try {
        re = new RegExp(r.pattern, 'u');
      } catch (e) {
        throw new Error(`${where}.pattern: ${(e as Error).message}`);
      }
      return { ...base, score: async (s) => regexReward(s.response, re) };
    }
    case 'code': {
      const run = deps.run ?? runSandboxed;
      const limits = { timeoutMs: timeoutSeconds * 1000, memoryMiB: r.memoryMiB ?? DEFAULT_CODE_MEMORY_MIB, outputBytes: 4096 };
      return {
        ...base,
        score: async (s, out) => {
          const res: SandboxResult = await run(s.language, codeProgram(s.codePrefix ?? '', s.response, s.reference), limits);
          out.isolation = res.isolation;
          if (res.status === 'timeout') throw new RewardTimeout('code', timeoutSeconds);
          return res.status === 'passed' ? 1 : 0;
        },
      };
    }
    case 'judge': {
      const j = r.judge;
      if (!j?.inferenceDeployment) throw new Error(`${where}: type judge needs judge.inferenceDeployment (an InferenceDeployment in the job's namespace)`);
      const target = deps.judges[j.inferenceDeployment];
      if (!target) throw new Error(`${where}: no endpoint for judge InferenceDeployment ${j.inferenceDeployment} in the plan document's "judges" (the operator resolves it; a local run passes --judge ${j.inferenceDeployment}=<base URL>)`);
      const client = new JudgeClient(target, { prompt: j.prompt, scorePattern: j.scorePattern, maxScore: j.maxScore, retries: j.retries, timeoutMs: timeoutSeconds * 1000 });
      return { ...base, judge: client, score: (s) => client.score({ prompt: s.question, response: s.response, reference: s.reference }) };
    }
    default:
      throw new Error(`${where}.type must be one of exactMatch, regex, boxed, code, judge; got ${JSON.stringify((r as { type?: unknown }).type)}`);
  }
}

export class Rewards {
  private readonly scorers: Scorer[];

  constructor(specs: readonly RewardSpec[], deps: RewardDeps) {
    if (specs.length === 0) throw new Error('training.grpo.rewards is empty: give at least one of exactMatch, regex, boxed, code, judge');
    this.scorers = specs.map((r, i) => scorer(r, i, deps));
  }

  /** Scores every sample with every reward, at most `concurrency` evaluations in flight. */
  async score(samples: readonly Sample[], concurrency = 4): Promise<RewardOutcome> {
    const out: RewardOutcome = { rewards: new Array<number>(samples.length).fill(0), errors: 0, messages: [], judgeCalls: 0, judgeFailures: 0 };
    const jobs = samples.flatMap((s, i) => this.scorers.map((sc) => ({ s, i, sc })));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < jobs.length) {
        const { s, i, sc } = jobs[next++];
        if (sc.judge) out.judgeCalls++;
        try {
          const v = await withTimeout(sc.score(s, out), sc.limitSeconds, sc.type);
          if (!Number.isFinite(v)) throw new Error(`${sc.type} reward gave ${v}`);
          out.rewards[i] += sc.weight * v;
        } catch (e) {
          out.errors++;
          if (out.messages.length < 5) out.messages.push((e as Error).message);
          if (e instanceof JudgeUnavailableError) {
            out.judgeFailures++;
            out.judgeError = { url: e.url, error: e.detail };
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, jobs.length)) }, worker));
    return out;
  }
}
