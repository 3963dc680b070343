// The model-based reward's client (I/O: HTTP): an InferenceDeployment's OpenAI API (the base URL the operator resolved
// from the deployment's router Service and wrote into the plan document's `judges`) scores a response through
// /v1/chat/completions with the judge prompt ({prompt}, {response}, {reference} replaced), greedy, a few tokens. The
// score is the first group of scorePattern in the answer, divided by maxScore and clamped to [0, 1]. Each call has a
// timeout and is retried (connection errors, timeouts, 429 and 5xx) with backoff; when every try fails the call throws
// JudgeUnavailableError naming the URL and the last error (the caller scores the sample 0 and reports it).

export const DEFAULT_JUDGE_PROMPT =
  'Rate how well the response answers the question, from 0 (wrong) to 10 (fully correct).\n' +
  'Question: {prompt}\nReference answer: {reference}\nResponse: {response}\nReply with the score only.\nScore:';
export const DEFAULT_SCORE_PATTERN = '([0-9]+(?:[.][0-9]+)?)';

export interface JudgeTarget {
  /** The OpenAI base URL, ending in /v1. */
  baseUrl: string;
  /** The served model name. */
  model: string;
}

export interface JudgeOptions {
  prompt?: string;
  scorePattern?: string;
  maxScore?: number;
  retries?: number;
  timeoutMs: number;
  /** Tokens the judge may answer with (default 8). */
  maxTokens?: number;
  backoffMs?: (attempt: number) => number;
}

export class JudgeUnavailableError extends Error {
  constructor(readonly url: string, readonly detail: string) {
    super(`judge ${url}: ${detail}`);
    this.name = 'JudgeUnavailableError';
  }
}

/** The judge prompt with its placeholders filled (each replaced once per occurrence; no recursive expansion). */
export function judgePrompt(template: string, v: { prompt: string; response: string; reference: string }): string {
  return template.replace(/\{(prompt|response|reference)\}/g, (_, k: 'prompt' | 'response' | 'reference') => v[k]);
}

/** The score in [0, 1] from the judge's answer; throws when the pattern does not match (the sample then scores 0). */
export function parseScore(answer: string, pattern: string, maxScore: number): number {
  const m = new RegExp(pattern, 'u').exec(answer);
  const raw = m ? (m.length > 1 ? m[1] : m[0]) : undefined;
  const x = raw === undefined ? NaN : Number(raw);
  if (!Number.isFinite(x)) throw new Error(`the judge's answer ${JSON.stringify(answer.slice(0, 80))} has no score matching ${pattern}`);
  return Math.min(1, Math.max(0, x / maxScore));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function cause(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError') return 'timed out';
  return err.cause?.message || err.cause?.code || err.message;
}

export class JudgeClient {
  readonly url: string;

  constructor(readonly target: JudgeTarget, private readonly o: JudgeOptions) {
    this.url = `${target.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  }

  /** The judge's raw answer to one filled prompt. */
  async ask(content: string): Promise<string> {
    const tries = (this.o.retries ?? 2) + 1;
    let last = '';
    for (let attempt = 0; attempt < tries; attempt++) {
      if (attempt > 0) await sleep(this.o.backoffMs?.(attempt - 1) ?? Math.min(5000, 250 * 2 ** (attempt - 1)));
      let res: Response;
      try {
        res = await fetch(this.url, {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: this.target.model, messages: [{ role: 'user', content }], max_tokens: this.o.maxTokens ?? 8, temperature: 0 }),
          signal: AbortSignal.timeout(this.o.timeoutMs),
        });
      } catch (e) {
        last = cause(e);
        continue;
      }
      const text = await res.text().catch((e: Error) => `(body not read: ${e.message})`);
      if (res.ok) {
        let body: any;
        try {
          body = JSON.parse(text);
        } catch {
          throw new Error(`${this.url}: the answer is not JSON: ${text.slice(0, 200)}`);
        }
        const c = body?.choices?.[0]?.message?.content;
        if (typeof c !== 'string') throw new Error(`${this.url}: no choices[0].message.content in the answer`);
        return c;
      }
      last = `HTTP ${res.status}: ${text.slice(0, 200)}`;
      // 4xx other than 429 will not get better by retrying (a wrong model name, a prompt too long): unavailable too.
      if (res.status !== 429 && res.status < 500) break;
    }
    throw new JudgeUnavailableError(this.url, `no answer after ${tries} attempt${tries === 1 ? '' : 's'} (timeout ${this.o.timeoutMs / 1000} s each): ${last}`);
  }

  async score(v: { prompt: string; response: string; reference: string }): Promise<number> {
    const answer = await this.ask(judgePrompt(this.o.prompt ?? DEFAULT_JUDGE_PROMPT, v));
    return parseScore(answer, this.o.scorePattern ?? DEFAULT_SCORE_PATTERN, this.o.maxScore ?? 10);
  }
}
