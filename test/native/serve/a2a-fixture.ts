// What the all-to-all worker and its test share.
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import type { Engine } from '../../../runtime/src/serve/engine/engine.js';
import type { TokenLogprob } from '../../../runtime/src/serve/engine/types.js';

/** Greedy tokens and the prompt's log-probabilities (top 2) of one request: a prefill forward of its own. */
export async function scored(e: Engine, p: string): Promise<{ tokens: number[]; prompt?: TokenLogprob[] }> {
  const tokens: number[] = [];
  let prompt: TokenLogprob[] | undefined;
  await e.generate({ id: `score ${p}`, promptIds: byteTokenizer.encode(p), params: { maxTokens: 4, temperature: 0, topP: 1, seed: 0, stopTokenIds: [] }, logprobs: { topK: 2, prompt: true } },
    (t) => tokens.push(t), undefined, (lp) => (prompt = lp));
  return { tokens, prompt };
}
