// Multiple choice by log-likelihood (MMLU-style, as lm-evaluation-harness's output_type multiple_choice): each choice
// is a continuation of the context (" " + choice, the harness's default target_delimiter); its score is the sum of its
// tokens' log-probabilities given the context. accuracy: the argmax is the answer; acc_norm: the argmax of the sum
// divided by the choice's length in characters. Tokens as the harness splits them: trailing whitespace of the context
// moves to the continuation, the whole text is encoded, and the continuation is what follows the context's own
// encoding. Backend-independent (model.ts).
import type { EvalModel } from './model.js';
import type { MultipleChoiceSample } from './tasks.js';
import { mapLimit } from './concurrency.js';
import { meanStderr, type Estimate } from './stats.js';
import { atSample } from './errors.js';

export const TARGET_DELIMITER = ' ';

export interface ChoiceScore {
  logLikelihood: number;
  /** The continuation's tokens (the ids scored). */
  tokens: number;
}

/** log p(continuation | context) under the model, with the harness's split of context and continuation. */
export async function continuationLogLikelihood(model: EvalModel, context: string, continuation: string): Promise<ChoiceScore> {
  const spaces = context.length - context.trimEnd().length;
  if (spaces > 0) {
    continuation = context.slice(context.length - spaces) + continuation;
    context = context.slice(0, context.length - spaces);
  }
  const [whole, ctx] = await Promise.all([model.tokenize(context + continuation), model.tokenize(context)]);
  if (ctx.length === 0) throw new Error(`the context ${JSON.stringify(context)} has no tokens; a continuation needs at least one token before it`);
  if (whole.length <= ctx.length) throw new Error(`the continuation ${JSON.stringify(continuation)} adds no tokens to the context`);
  const lps = await model.promptLogprobs(whole);
  let ll = 0;
  // lps[i - 1] is token i given tokens 0..i-1.
  for (let i = ctx.length; i < whole.length; i++) ll += lps[i - 1];
  return { logLikelihood: ll, tokens: whole.length - ctx.length };
}

export interface MultipleChoiceResult {
  accuracy: Estimate;
  accNorm: Estimate;
  samples: { line: number; choices: ChoiceScore[]; predicted: number; predictedNorm: number; answer: number }[];
}

/** First index of the maximum (numpy's argmax). */
export function argmax(xs: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

/** Code points, as Python's len (the harness normalises by len(choice)). */
const chars = (s: string): number => Array.from(s).length;

/** The model with tokenize memoised (a sample's context is encoded once for all its choices, not once per choice). */
function memoTokenize(model: EvalModel): EvalModel {
  const seen = new Map<string, Promise<number[]>>();
  return {
    description: model.description,
    tokenize: (text) => {
      let p = seen.get(text);
      if (!p) {
        p = model.tokenize(text);
        seen.set(text, p);
        p.catch(() => seen.delete(text));
      }
      return p;
    },
    promptLogprobs: (ids) => model.promptLogprobs(ids),
    complete: (prompt, o) => model.complete(prompt, o),
    close: () => model.close(),
  };
}

export async function scoreMultipleChoice(model: EvalModel, file: string, samples: MultipleChoiceSample[], concurrency: number): Promise<MultipleChoiceResult> {
  model = memoTokenize(model);
  const scored = await mapLimit(samples, concurrency, async (s) => {
    const choices = await Promise.all(s.choices.map((c) => continuationLogLikelihood(model, s.context, TARGET_DELIMITER + c).catch((e: unknown) => {
      throw atSample(file, s.line, e);
    })));
    const lls = choices.map((c) => c.logLikelihood);
    return {
      line: s.line, choices, answer: s.answer,
      predicted: argmax(lls),
      predictedNorm: argmax(lls.map((ll, i) => ll / chars(s.choices[i]))),
    };
  });
  return {
    accuracy: meanStderr(scored.map((s) => (s.predicted === s.answer ? 1 : 0))),
    accNorm: meanStderr(scored.map((s) => (s.predictedNorm === s.answer ? 1 : 0))),
    samples: scored,
  };
}
