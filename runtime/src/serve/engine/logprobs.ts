// Log-probabilities for the API's `logprobs` and `echo`: the log-softmax of one row of logits, in float64, over the
// ids the tokenizer can produce (the same ids the sampler draws from). They are the model's own distribution, before
// temperature and top-p, as OpenAI and vLLM report them. Pure.
import type { TokenLogprob } from './types.js';

/** Most alternatives per token a request may ask for (vLLM's limit; OpenAI allows 5 for completions, 20 for chat). */
export const MAX_TOP_LOGPROBS = 20;

/** log Σ exp(row[v]) over v < n, in float64 (shifted by the maximum, so large logits do not overflow). */
export function logSumExp(row: Float32Array, n: number): number {
  let m = -Infinity;
  for (let v = 0; v < n; v++) if (row[v] > m) m = row[v];
  let z = 0;
  for (let v = 0; v < n; v++) z += Math.exp(row[v] - m);
  return m + Math.log(z);
}

/** The k largest ids of row[0, n), by value descending, ties to the lower id. */
export function topIds(row: Float32Array, n: number, k: number): number[] {
  const ids: number[] = [];
  if (k <= 0) return ids;
  for (let v = 0; v < n; v++) {
    const x = row[v];
    if (ids.length === k) {
      if (!(x > row[ids[k - 1]])) continue;
      ids.pop();
    }
    // Insert after every id of a value >= x, so an earlier (lower) id stays first among equals.
    let i = ids.length;
    while (i > 0 && row[ids[i - 1]] < x) i--;
    ids.splice(i, 0, v);
  }
  return ids;
}

/** The log-probability of `chosen` under the row's distribution, and the k most likely ids with theirs. */
export function tokenLogprob(row: Float32Array, n: number, chosen: number, k: number): TokenLogprob {
  const lse = logSumExp(row, n);
  return { logprob: row[chosen] - lse, top: topIds(row, n, k).map((id) => ({ id, logprob: row[id] - lse })) };
}

/**
 * Log-probabilities of a prompt's tokens 1..len-1 from the logits of its positions 0..len-2 (`logits` holds the
 * prompt's rows from `row0`, V wide): entry i is prompt token i+1 given tokens 0..i. The first token has none.
 */
export function promptLogprobs(logits: Float32Array, row0: number, V: number, ids: Int32Array, n: number, k: number): TokenLogprob[] {
  const out: TokenLogprob[] = [];
  for (let i = 0; i + 1 < ids.length; i++) {
    const r = (row0 + i) * V;
    out.push(tokenLogprob(logits.subarray(r, r + V), n, ids[i + 1], k));
  }
  return out;
}

/** A TokenLogprob read from JSON (internal protocol, hand-off header): undefined when it is not one. */
export function asTokenLogprob(v: unknown): TokenLogprob | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const o = v as { logprob?: unknown; top?: unknown };
  if (typeof o.logprob !== 'number' || !Array.isArray(o.top) || o.top.length > MAX_TOP_LOGPROBS) return undefined;
  for (const t of o.top as unknown[]) {
    const e = t as { id?: unknown; logprob?: unknown } | null;
    if (!e || typeof e !== 'object' || !Number.isInteger(e.id) || (e.id as number) < 0 || typeof e.logprob !== 'number') return undefined;
  }
  return { logprob: o.logprob, top: (o.top as { id: number; logprob: number }[]).map((t) => ({ id: t.id, logprob: t.logprob })) };
}
