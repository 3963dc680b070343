// The public OpenAI-compatible API (role `router`): /v1/completions, /v1/chat/completions, /v1/models, and vLLM's
// /tokenize, /detokenize, /tokenizer_info (tokenizer-api.ts) so evaluation tools count tokens as the server does. Prompts
// are tokenised here, generation runs on a decode replica (upstream.ts), and the token stream comes back through the
// incremental detokeniser and the stop-string matcher to SSE or one JSON body. Echo puts the prompt's text (and, with
// logprobs, its tokens' log-probabilities, which decode sends before the first token) ahead of the completion. Admission: beyond maxInFlight
// requests the router answers 429 with Retry-After itself. A failure after the first token ends a stream with an
// error event and a non-streaming request with 502; idle upstreams time out, so nothing hangs.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { specialId, type Tokenizer } from '../../data/tokenizer.js';
import { CHAT_TOKENS } from '../../data/chat-template.js';
import type { FinishReason, TokenLogprob } from '../engine/types.js';
import { readJson, DEFAULT_BODY_LIMIT } from './body.js';
import { ApiError, invalidField, notFound, overloaded, sendJson, unavailable, upstreamFailed } from './errors.js';
import { IncrementalDetokenizer, tokenBytesTable } from './detok.js';
import { StopMatcher } from './stop.js';
import { parseChatRequest, parseCompletionRequest, type PublicRequest } from './openai.js';
import { JsonSink, SseSink, usageOf, type ResponseSink } from './responses.js';
import { codePoints, LogprobFormatter, type LogprobEntry } from './logprob-format.js';
import { tokenizerRoutes } from './tokenizer-api.js';
import { Balancer } from './balancer.js';
import { isGenerateEvent, openGeneration } from './upstream.js';
import { RequestTimer, ServeMetrics } from './metrics.js';
import { HttpServer, type Log } from './server.js';
import type { RouteSource } from './routes.js';

export interface RouterOptions {
  tokenizer: Tokenizer;
  routes: RouteSource;
  /** The served model name; default the routes' `model`. */
  modelName?: string;
  log: Log;
  /** Requests in flight beyond which the router answers 429. */
  maxInFlight?: number;
  /** Upstream socket inactivity limit (first token, and between tokens). */
  idleTimeoutMs?: number;
  bodyLimit?: number;
  metrics?: ServeMetrics;
  balancer?: Balancer;
}

export function createRouter(o: RouterOptions): HttpServer {
  const balancer = o.balancer ?? new Balancer();
  const maxInFlight = o.maxInFlight ?? 256;
  const idleTimeoutMs = o.idleTimeoutMs ?? 120_000;
  const limit = o.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const bytes = tokenBytesTable(o.tokenizer);
  const eos = specialId(o.tokenizer, CHAT_TOKENS.eos);
  const formatter = new LogprobFormatter(bytes);
  let inFlight = 0;
  let waiting = 0;
  const metrics = o.metrics ?? new ServeMetrics('router', { queue: () => waiting, running: () => inFlight });
  const created = (): number => Math.floor(Date.now() / 1000);
  const served = (): string | undefined => o.modelName ?? o.routes.current().model;

  function promptIds(pr: PublicRequest): number[] {
    if (typeof pr.prompt === 'string') return Array.from(o.tokenizer.encode(pr.prompt));
    const bad = pr.prompt.findIndex((t) => t >= o.tokenizer.vocabSize);
    if (bad >= 0) throw invalidField('prompt', `prompt[${bad}] = ${pr.prompt[bad]} is outside the vocabulary [0, ${o.tokenizer.vocabSize})`);
    return pr.prompt;
  }

  async function complete(pr: PublicRequest, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const name = served();
    if (name === undefined) throw unavailable('the served model is not known yet (no routes)');
    if (pr.model !== name) throw notFound(`the model ${JSON.stringify(pr.model)} does not exist; this server serves ${JSON.stringify(name)}`, 'model_not_found', 'model');
    const ids = promptIds(pr);
    if (inFlight >= maxInFlight) throw overloaded(1, `the router has ${inFlight} requests in flight (limit ${maxInFlight}); retry later`);
    inFlight++;
    const timer = new RequestTimer(metrics);
    try {
      metrics.promptTokens.inc(ids.length);
      const want = pr.logprobs !== undefined ? { topK: pr.logprobs, prompt: pr.echo } : undefined;
      const meta = { kind: pr.kind, id: `${pr.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`, model: name, created: created(), ...(want ? { logprobs: formatter } : {}) };
      const detok = new IncrementalDetokenizer(bytes);
      // Code points of the answer's text so far (echoed prompt included), for text_offset.
      let chars = 0;
      const pushText = (id: number): string => {
        const piece = detok.push(id);
        chars += codePoints(piece);
        return piece;
      };
      /** The echoed prompt: its text, and with logprobs its entries (the first token has none). */
      const echoPrompt = (sink: ResponseSink, lps?: TokenLogprob[]): void => {
        const entries: LogprobEntry[] = [];
        let text = '';
        ids.forEach((id, i) => {
          const lp = i === 0 ? undefined : lps?.[i - 1];
          entries.push({ id, logprob: lp?.logprob ?? null, top: lp?.top ?? null, offset: chars });
          text += pushText(id);
        });
        sink.text(text, want ? entries : undefined);
      };
      // max_tokens 0 without logprobs: the answer is the prompt; no replica is needed.
      if (pr.maxTokens === 0 && !want) {
        const sink: ResponseSink = pr.stream ? new SseSink(res, meta, pr.includeUsage) : new JsonSink(res, meta);
        echoPrompt(sink);
        sink.text(detok.flush());
        sink.finish('length', usageOf(ids.length, 0));
        timer.done();
        return;
      }
      waiting++;
      let up;
      try {
        up = await openGeneration({ table: o.routes.current(), balancer, id: meta.id, promptIds: ids, params: { maxTokens: pr.maxTokens, temperature: pr.temperature, topP: pr.topP, seed: pr.seed, stopTokenIds: pr.kind === 'chat' && eos !== undefined ? [eos] : [] }, ...(want ? { logprobs: want } : {}), signal, idleTimeoutMs, log: o.log });
      } finally {
        waiting--;
      }
      const sink: ResponseSink = pr.stream ? new SseSink(res, meta, pr.includeUsage) : new JsonSink(res, meta);
      // A chat answer ends at the template's end-of-sentence (its token stops the engine when the vocabulary has it),
      // which the text leaves out.
      const stop = new StopMatcher(pr.kind === 'chat' ? [...pr.stop, CHAT_TOKENS.eos] : pr.stop);
      let tokens = 0;
      let finish: FinishReason | undefined;
      let echoed = !pr.echo;
      // Entries of tokens whose text the stop matcher still holds; they go out with the next text (or the finish).
      const pending: LogprobEntry[] = [];
      // One event from decode; true once the request is finished.
      const take = (ev: unknown): boolean => {
        if (!isGenerateEvent(ev)) throw upstreamFailed(`decode replica ${up.url} sent an unreadable line: ${JSON.stringify(ev).slice(0, 100)}`);
        if ('error' in ev) throw upstreamFailed(`decode replica ${up.url} failed mid-generation: ${ev.error.message}`);
        if ('prompt' in ev) {
          if (!want?.prompt || echoed) throw upstreamFailed(`decode replica ${up.url} sent prompt log-probabilities that were not asked for`);
          if (ev.prompt.length !== ids.length - 1) throw upstreamFailed(`decode replica ${up.url} sent ${ev.prompt.length} prompt log-probabilities for a prompt of ${ids.length} tokens`);
          echoed = true;
          echoPrompt(sink, ev.prompt);
          return false;
        }
        if (!echoed) {
          // Decode sends the prompt's log-probabilities first when asked; a replica that does not is an older runtime.
          if (want?.prompt) throw upstreamFailed(`decode replica ${up.url} did not send the prompt's log-probabilities (an older runtime?)`);
          echoed = true;
          echoPrompt(sink);
        }
        if ('token' in ev) {
          tokens++;
          timer.token();
          if (want) {
            if (!ev.logprob) throw upstreamFailed(`decode replica ${up.url} sent a token without its log-probability (an older runtime?)`);
            pending.push({ id: ev.token, logprob: ev.logprob.logprob, top: ev.logprob.top, offset: chars });
          }
          const s = stop.push(pushText(ev.token));
          if (s.emit) sink.text(s.emit, want ? pending.splice(0) : undefined);
          if (s.stopped) finish = 'stop';
          return s.stopped;
        }
        if ('finish' in ev) {
          const s = stop.push(detok.flush());
          if (s.emit) sink.text(s.emit, want ? pending.splice(0) : undefined);
          if (!s.stopped) sink.text(stop.flush());
          finish = s.stopped ? 'stop' : ev.finish;
          return true;
        }
        return false;
      };
      try {
        let done = take(up.first);
        while (!done) {
          const next = await up.rest.next();
          if (next.done) throw upstreamFailed(`decode replica ${up.url} closed the stream before finishing`);
          done = take(next.value);
        }
      } catch (e) {
        if (signal.aborted) return;
        const err = e instanceof ApiError ? e : upstreamFailed(`decode replica ${up.url} failed mid-generation: ${(e as Error).message}`);
        o.log({ level: 'warn', msg: 'generation broke off', id: meta.id, url: up.url, tokens, error: err.message });
        sink.fail(err);
        return;
      } finally {
        up.close();
        // Ends the NDJSON reader if generation stopped early (stop string, failure), releasing its socket.
        void up.rest.return(undefined).catch(() => {});
      }
      sink.finish(finish!, usageOf(ids.length, tokens), want ? pending : undefined);
      timer.done();
    } finally {
      inFlight--;
    }
  }

  const handler = (parse: (b: unknown) => PublicRequest) => async (req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> => {
    await complete(parse(await readJson(req, limit)), res, signal);
  };

  return new HttpServer({
    metrics,
    log: o.log,
    notReady: () => (o.routes.current().decode.length === 0 ? 'no decode replica is ready' : undefined),
    routes: {
      'POST /v1/completions': handler(parseCompletionRequest),
      'POST /v1/chat/completions': handler(parseChatRequest),
      ...tokenizerRoutes(o.tokenizer, limit),
      'GET /v1/models': async (_req, res) => {
        const name = served();
        if (name === undefined) throw unavailable('the served model is not known yet (no routes)');
        sendJson(res, 200, { object: 'list', data: [{ id: name, object: 'model', created: 0, owned_by: 'moe-operator' }] });
      },
    },
  });
}
