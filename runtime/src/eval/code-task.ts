// Code pass@k (HumanEval-style): `samples` completions per problem at temperature 0.8 (seed = problem index ×
// samples + sample index, so a rerun draws the same programs), each run with its tests in the sandbox
// (../sandbox): program = prompt + completion + "\n" + tests + "\n" [+ "check(<entry_point>)\n"]; it passes when it
// exits 0 within the limits. pass@k per problem by the unbiased estimator, averaged over problems (stats.ts).
import type { EvalModel } from './model.js';
import type { CodeSample } from './tasks.js';
import { mapLimit } from './concurrency.js';
import { atSample, EvalError } from './errors.js';
import { passAtK, meanStderr, type Estimate } from './stats.js';
import { InterpreterMissingError, runSandboxed, type SandboxLimits, type SandboxResult } from '../sandbox/sandbox.js';

export const CODE_TEMPERATURE = 0.8;
export const DEFAULT_CODE_TOKENS = 512;
export const DEFAULT_CODE_LIMITS = { timeoutSeconds: 10, memoryMiB: 512 };

/** The program a candidate is judged by. */
export function candidateProgram(s: CodeSample, completion: string): string {
  return `${s.prompt}${completion}\n\n${s.tests}\n${s.entryPoint ? `\ncheck(${s.entryPoint})\n` : ''}`;
}

export interface CodeResult {
  passAt: Map<number, Estimate>;
  /** What isolated the runs (the sandbox's description; the same for every run of a process). */
  isolation: string;
  samples: { line: number; passed: number; runs: { status: SandboxResult['status']; exitCode: number | null; stderr: string }[] }[];
}

export async function scoreCode(model: EvalModel, file: string, problems: CodeSample[], o: {
  samples?: number; k?: number[]; maxTokens?: number; timeoutSeconds?: number; memoryMiB?: number; concurrency: number;
  /** The sandbox's own concurrency (CPU-bound runs); default 2. */
  sandboxConcurrency?: number;
  run?: typeof runSandboxed;
}): Promise<CodeResult> {
  const n = o.samples ?? 1;
  const ks = o.k ?? [1];
  const limits: SandboxLimits = {
    timeoutMs: (o.timeoutSeconds ?? DEFAULT_CODE_LIMITS.timeoutSeconds) * 1000,
    memoryMiB: o.memoryMiB ?? DEFAULT_CODE_LIMITS.memoryMiB,
    outputBytes: 16 * 1024,
  };
  const run = o.run ?? runSandboxed;
  // Completions first (the model batches them), then the programs, a few at a time.
  const completions = await mapLimit(problems.flatMap((p, i) => Array.from({ length: n }, (_, j) => ({ p, seed: i * n + j }))), o.concurrency,
    ({ p, seed }) => model.complete(p.prompt, { maxTokens: o.maxTokens ?? DEFAULT_CODE_TOKENS, temperature: CODE_TEMPERATURE, seed }).catch((e: unknown) => {
      throw atSample(file, p.line, e);
    }));
  let isolation = '';
  const runs = await mapLimit(completions, o.sandboxConcurrency ?? 2, async (c, idx) => {
    const p = problems[Math.floor(idx / n)];
    const r = await run(p.language, candidateProgram(p, c), limits).catch((e: unknown) => {
      // No interpreter is the evaluation image's fault, not the task's.
      throw e instanceof InterpreterMissingError ? new EvalError(`${file}:${p.line}: ${e.message}`) : atSample(file, p.line, e);
    });
    isolation = r.isolation;
    return r;
  });
  const samples = problems.map((p, i) => {
    const mine = runs.slice(i * n, (i + 1) * n);
    return { line: p.line, passed: mine.filter((r) => r.status === 'passed').length, runs: mine.map((r) => ({ status: r.status, exitCode: r.exitCode, stderr: r.stderr.slice(-500) })) };
  });
  const passAt = new Map(ks.map((k) => [k, meanStderr(samples.map((s) => passAtK(n, s.passed, k)))]));
  return { passAt, isolation, samples };
}
