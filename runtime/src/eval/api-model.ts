// The API backend (I/O: HTTP): a served model through its OpenAI-compatible /v1/completions (echo + logprobs +
// max_tokens 0 scores a prompt given as token ids; plain completions generate) and vLLM's /tokenize at the server's
// root (the router has it, see serve/http/tokenizer-api.ts). Each request has the plan's timeout and is retried
// `retries` times (connection errors, timeouts, 429 and 5xx, with backoff); when every try fails the model counts as
// unreachable (ModelUnreachableError, exit 3). Other answers (400: a prompt too long...) fail the run with the server's
// message.
import { EvalError, ModelUnreachableError } from './errors.js';
import type { CompleteOptions, EvalModel } from './model.js';

export interface ApiModelOptions {
  timeoutMs: number;
  retries: number;
  /** Wait before retry i (0-based); default 250 ms × 2^i, at most 5 s. */
  backoffMs?: (attempt: number) => number;
  warn?: (msg: string) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function cause(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError') return 'timed out';
  return err.cause?.message || err.cause?.code || err.message;
}

export class ApiModel implements EvalModel {
  private readonly completions: string;
  private readonly tokenizeUrl: string;

  constructor(readonly baseUrl: string, public model: string, private readonly o: ApiModelOptions) {
    const base = baseUrl.replace(/\/+$/, '');
    this.completions = `${base}/completions`;
    // As lm-evaluation-harness's tokenizer_backend=remote: the server's root, i.e. the base URL without /v1.
    this.tokenizeUrl = `${base.replace(/\/v1$/, '')}/tokenize`;
  }

  get description(): string {
    return `api ${this.baseUrl.replace(/\/+$/, '')} model ${this.model}`;
  }

  private async post(url: string, body: unknown): Promise<any> {
    return this.request(url, 'POST', body);
  }

  /** The first model the server lists (GET /v1/models), for a local run that names no model. */
  async servedModel(): Promise<string> {
    const url = `${this.baseUrl.replace(/\/+$/, '')}/models`;
    const r = await this.request(url, 'GET');
    const id = r?.data?.[0]?.id;
    if (typeof id !== 'string') throw new ModelUnreachableError(`${url}: the server lists no model`);
    return id;
  }

  private async request(url: string, method: 'GET' | 'POST', body?: unknown): Promise<any> {
    const tries = this.o.retries + 1;
    let last = '';
    for (let attempt = 0; attempt < tries; attempt++) {
      if (attempt > 0) await sleep(this.o.backoffMs?.(attempt - 1) ?? Math.min(5000, 250 * 2 ** (attempt - 1)));
      let res: Response;
      try {
        res = await fetch(url, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }), signal: AbortSignal.timeout(this.o.timeoutMs) });
      } catch (e) {
        last = cause(e);
        this.o.warn?.(`${url}: attempt ${attempt + 1}/${tries} failed (${last})`);
        continue;
      }
      const text = await res.text().catch((e: Error) => `(body not read: ${e.message})`);
      if (res.ok) {
        try {
          return JSON.parse(text);
        } catch {
          throw new EvalError(`${url}: the answer is not JSON: ${text.slice(0, 200)}`);
        }
      }
      let msg = text.slice(0, 300);
      try {
        msg = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? msg;
      } catch {
        // not JSON: keep the text
      }
      if (res.status === 429 || res.status >= 500) {
        last = `HTTP ${res.status}: ${msg}`;
        this.o.warn?.(`${url}: attempt ${attempt + 1}/${tries} failed (${last})`);
        continue;
      }
      if (res.status === 404 && url === this.completions) throw new ModelUnreachableError(`${url}: HTTP 404: ${msg}`);
      if (res.status === 404) throw new EvalError(`${url}: HTTP 404: the server has no /tokenize (vLLM's tokenizer endpoint, which multiple-choice scoring needs to find where each choice starts)`);
      throw new EvalError(`${url}: HTTP ${res.status}: ${msg}`);
    }
    throw new ModelUnreachableError(`${url}: unreachable after ${tries} attempt${tries === 1 ? '' : 's'} (timeout ${this.o.timeoutMs / 1000} s each): ${last}`);
  }

  async tokenize(text: string): Promise<number[]> {
    const r = await this.post(this.tokenizeUrl, { prompt: text, add_special_tokens: false });
    if (!Array.isArray(r?.tokens)) throw new EvalError(`${this.tokenizeUrl}: no "tokens" in the answer`);
    return r.tokens as number[];
  }

  async promptLogprobs(ids: number[]): Promise<number[]> {
    const r = await this.post(this.completions, { model: this.model, prompt: ids, echo: true, max_tokens: 0, logprobs: 0, temperature: 0 });
    const lp = r?.choices?.[0]?.logprobs?.token_logprobs as (number | null)[] | undefined;
    // The echoed prompt: one entry per token id sent, the first null.
    if (!Array.isArray(lp) || lp.length !== ids.length || lp.slice(1).some((x) => typeof x !== 'number')) {
      throw new EvalError(`${this.completions}: echo + logprobs should give ${ids.length} token_logprobs for the ${ids.length} prompt tokens, got ${JSON.stringify(lp)?.slice(0, 200)}`);
    }
    return lp.slice(1) as number[];
  }

  async complete(prompt: string, o: CompleteOptions): Promise<string> {
    const r = await this.post(this.completions, { model: this.model, prompt, max_tokens: o.maxTokens, temperature: o.temperature, top_p: 1, seed: o.seed });
    const t = r?.choices?.[0]?.text;
    if (typeof t !== 'string') throw new EvalError(`${this.completions}: no choices[0].text in the answer`);
    return t;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
