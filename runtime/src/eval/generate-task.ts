// Exact-match generation (GSM8K-style): a greedy completion of each prompt (temperature 0, maxTokens), its answer
// extracted (answer.ts) and compared with the sample's; metric exact_match. Backend-independent (model.ts).
import type { EvalModel } from './model.js';
import type { GenerateSample } from './tasks.js';
import { answersMatch, extractAnswer } from './answer.js';
import { mapLimit } from './concurrency.js';
import { atSample } from './errors.js';
import { meanStderr, type Estimate } from './stats.js';

export const DEFAULT_GENERATE_TOKENS = 256;

export interface GenerateResult {
  exactMatch: Estimate;
  samples: { line: number; completion: string; predicted?: string; answer: string; correct: boolean }[];
}

export async function scoreGenerate(model: EvalModel, file: string, samples: GenerateSample[], o: { maxTokens?: number; answerPattern?: string; concurrency: number }): Promise<GenerateResult> {
  const scored = await mapLimit(samples, o.concurrency, async (s) => {
    const completion = await model.complete(s.prompt, { maxTokens: o.maxTokens ?? DEFAULT_GENERATE_TOKENS, temperature: 0, seed: 0 }).catch((e: unknown) => {
      throw atSample(file, s.line, e);
    });
    const predicted = extractAnswer(completion, o.answerPattern);
    return { line: s.line, completion, ...(predicted === undefined ? {} : { predicted }), answer: s.answer, correct: answersMatch(predicted, s.answer) };
  });
  return { exactMatch: meanStderr(scored.map((s) => (s.correct ? 1 : 0))), samples: scored };
}
