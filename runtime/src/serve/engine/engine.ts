// The serving engine: continuous batching over the inference model. Each iteration of the loop
//   1. admits waiting requests while fewer than maxBatch sequences run (hand-offs install their cache; new prompts
//      are prefilled together in one batched forward and sample their first token),
//   2. runs ONE decode step for every running sequence together (their tokens batched through the projections and
//      experts, attention per sequence over its own cache), samples, streams, and retires finished sequences,
//   3. yields to the event loop (setImmediate) so the HTTP server stays responsive.
// A request asking for prompt log-probabilities (echo) is prefilled in its own forward that keeps the logits of every
// prompt position; the others keep only the last position's, so they pay nothing for it.
// Aborts free the slot at once (a sequence aborted during a step is dropped before sampling); a placement set during
// a step (possible only with expert parallelism, whose step awaits the network) takes effect at the next step.
import type { Tokenizer } from '../../data/tokenizer.js';
import type { RuntimeModelConfig } from '../../model/config.js';
import { buildParams } from '../../model/transformer.js';
import { Rng } from '../../model/rng.js';
import { alloc32 } from '../../model/tensor.js';
import { nativeAvailable } from '../../model/precision.js';
import { ExpertLoad } from './expert-load.js';
import { SequenceCache } from './kv-cache.js';
import { loadModelFolder } from './load.js';
import { InferenceModel, type Precision } from './inference-model.js';
import type { ExpertParallelLeader } from './expert-parallel.js';
import { identityPlacement, resolvePlacement, type ResolvedPlacement } from './expert-slots.js';
import { sample } from './sampler.js';
import { promptLogprobs, tokenLogprob } from './logprobs.js';
import { QueueFullError, type EngineOptions, type EngineStats, type FinishReason, type GenerateRequest, type GenerateResult, type Handoff, type ExpertPlacement, type ServeEngine, type TokenLogprob } from './types.js';
import { validateRequest } from './validate.js';
import { weightsFromParams, type ModelWeights } from './weights.js';

interface Seq {
  req: GenerateRequest;
  kind: 'generate' | 'prefill';
  rng: Rng;
  cache?: SequenceCache;
  /** The last sampled token, fed at the next decode step. */
  pending: number;
  completion: number;
  onToken?: (token: number, logprob?: TokenLogprob) => void;
  onPrompt?: (logprobs: TokenLogprob[]) => void;
  /** Set by a prefill that kept every position's logits (req.logprobs.prompt). */
  promptLogprobs?: TokenLogprob[];
  resolve(v: GenerateResult | Handoff): void;
  reject(e: unknown): void;
  signal?: AbortSignal;
  onAbort?: () => void;
  done: boolean;
}

function abortError(signal: AbortSignal): Error {
  const r = signal.reason;
  if (r instanceof Error) return r;
  const e = new Error('the request was aborted');
  e.name = 'AbortError';
  return e;
}

export class Engine implements ServeEngine {
  readonly maxSequenceLength: number;
  private readonly waiting: Seq[] = [];
  private running: Seq[] = [];
  private readonly load: ExpertLoad;
  private loopActive = false;
  private closed = false;
  private onStopped: (() => void)[] = [];
  /** Generated tokens per second, smoothed over iterations (for Retry-After). */
  private tokensPerSecond = 0;
  private readonly log: (e: Record<string, unknown>) => void;
  private readonly ep?: ExpertParallelLeader;
  private stepping = false;
  /** Sequences taken from the queue by the step in progress. */
  private admitting: Seq[] = [];
  private pendingPlacement?: { r: ResolvedPlacement; raw: ExpertPlacement };
  /** The placement in force as the operator wrote it (shipped to the EP followers). */
  private rawPlacement?: ExpertPlacement;

  private constructor(readonly model: InferenceModel, readonly tokenizer: Tokenizer, private readonly opts: EngineOptions, trainedSeqLen?: number) {
    if (!Number.isInteger(opts.maxBatch) || opts.maxBatch < 1) throw new Error(`engine: maxBatch must be an integer >= 1, got ${String(opts.maxBatch)}`);
    if (opts.maxPrefillTokens !== undefined && (!Number.isInteger(opts.maxPrefillTokens) || opts.maxPrefillTokens < 1)) throw new Error(`engine: maxPrefillTokens must be an integer >= 1, got ${String(opts.maxPrefillTokens)}`);
    if (!Number.isInteger(opts.maxQueue) || opts.maxQueue < 0) throw new Error(`engine: maxQueue must be an integer >= 0, got ${String(opts.maxQueue)}`);
    const msl = opts.maxSequenceLength ?? trainedSeqLen ?? 4096;
    if (!Number.isInteger(msl) || msl < 2) throw new Error(`engine: maxSequenceLength must be an integer >= 2, got ${String(msl)}`);
    this.maxSequenceLength = msl;
    const c = model.config;
    this.ep = opts.expertParallel;
    if (opts.epSize !== undefined && (!Number.isInteger(opts.epSize) || opts.epSize < 1)) throw new Error(`engine: epSize must be an integer >= 1, got ${String(opts.epSize)}`);
    const gpus = this.ep ? this.ep.size : opts.epSize ?? 1;
    if (this.ep && opts.epSize !== undefined && opts.epSize !== this.ep.size) throw new Error(`engine: epSize ${opts.epSize} differs from the expert-parallel group size ${this.ep.size}`);
    this.load = new ExpertLoad(model.moeLayers, c.n_routed_experts, identityPlacement(model.moeLayers, c.n_routed_experts, gpus));
    this.log = opts.log ?? (() => {});
  }

  get config(): RuntimeModelConfig {
    return this.model.config;
  }

  static fromWeights(config: RuntimeModelConfig, tokenizer: Tokenizer, weights: ModelWeights, opts: EngineOptions, trainedSeqLen?: number): Engine {
    const precision = resolvePrecision(opts.precision);
    return new Engine(new InferenceModel(config, weights, precision), tokenizer, opts, trainedSeqLen);
  }

  /** Random weights drawn exactly as the trainer initialises them (buildParams with this seed). */
  static random(config: RuntimeModelConfig, tokenizer: Tokenizer, opts: EngineOptions, seed: number): Engine {
    return Engine.fromWeights(config, tokenizer, weightsFromParams(buildParams(config, alloc32, new Rng(seed))), opts);
  }

  /** A DeepSeek-layout export folder or a run folder (latest checkpoint). */
  static async load(modelPath: string, opts: EngineOptions): Promise<Engine> {
    const m = loadModelFolder(modelPath, (msg) => opts.log?.({ level: 'warn', msg }));
    const e = Engine.fromWeights(m.config, m.tokenizer, m.weights, opts, m.seqLen);
    e.log({ msg: 'model loaded', path: modelPath, from: m.kind, precision: e.model.precision, maxSequenceLength: e.maxSequenceLength });
    return e;
  }

  prefill(req: Omit<GenerateRequest, 'handoff'>, signal?: AbortSignal): Promise<Handoff> {
    return this.enqueue({ ...req, handoff: undefined }, 'prefill', undefined, signal) as Promise<Handoff>;
  }

  generate(req: GenerateRequest, onToken: (token: number, logprob?: TokenLogprob) => void, signal?: AbortSignal, onPrompt?: (logprobs: TokenLogprob[]) => void): Promise<GenerateResult> {
    return this.enqueue(req, 'generate', onToken, signal, onPrompt) as Promise<GenerateResult>;
  }

  private enqueue(req: GenerateRequest, kind: Seq['kind'], onToken: Seq['onToken'], signal?: AbortSignal, onPrompt?: Seq['onPrompt']): Promise<GenerateResult | Handoff> {
    if (this.closed) return Promise.reject(new Error('the engine is closed'));
    try {
      validateRequest(req, this.model.config, this.maxSequenceLength);
    } catch (e) {
      return Promise.reject(e);
    }
    if (signal?.aborted) return Promise.reject(abortError(signal));
    // Waiting requests that a free slot will take at the next iteration do not count against maxQueue.
    const queued = this.waiting.length - Math.max(0, this.opts.maxBatch - this.running.length);
    if (queued >= this.opts.maxQueue) {
      return Promise.reject(new QueueFullError(this.retryAfter()));
    }
    return new Promise((resolve, reject) => {
      const s: Seq = { req, kind, rng: new Rng(req.params.seed), pending: -1, completion: 0, onToken, onPrompt, resolve, reject, signal, done: false };
      if (signal) {
        s.onAbort = () => this.finish(s, abortError(signal));
        signal.addEventListener('abort', s.onAbort, { once: true });
      }
      this.waiting.push(s);
      this.kick();
    });
  }

  /** Seconds until the queued and running tokens are likely generated at the recent throughput, within [1, 300]. */
  private retryAfter(): number {
    let work = 0;
    for (const s of this.waiting) work += Math.min(s.req.params.maxTokens, this.maxSequenceLength - s.req.promptIds.length);
    for (const s of this.running) work += Math.max(0, s.req.params.maxTokens - s.completion);
    const secs = this.tokensPerSecond > 0 ? work / this.tokensPerSecond : 1;
    return Math.min(300, Math.max(1, Math.ceil(secs)));
  }

  expertLoad(): number[][] {
    return this.load.cumulative();
  }

  setPlacement(p: ExpertPlacement): void {
    // Validated in full before anything changes, so a bad placement leaves the old one in force.
    const r = resolvePlacement(p, this.model.moeLayers, this.model.config.n_routed_experts);
    // The operator counts GPUs (pods × GPUs per pod); this runtime runs one EP process per pod.
    if (this.ep && r.gpus % this.ep.size !== 0) throw new Error(`placement: gpus is ${r.gpus}, not a multiple of this replica's ${this.ep.size} pods; the placement must match the replica's expert parallelism`);
    // Only an expert-parallel step awaits mid-forward; a local forward is never interrupted, so apply at once.
    if (this.stepping && this.ep) this.pendingPlacement = { r, raw: p };
    else this.applyPlacement(r, p);
  }

  private applyPlacement(r: ResolvedPlacement, raw: ExpertPlacement): void {
    this.load.setPlacement(r);
    this.rawPlacement = raw;
    this.log({ msg: 'placement swapped', version: r.version, gpus: r.gpus, slotsPerGpu: r.slotsPerGpu });
  }

  stats(): EngineStats {
    let kv = 0;
    for (const s of this.running) kv += s.cache?.length ?? 0;
    return { running: this.running.length, waiting: this.waiting.length, kvTokens: kv, placementVersion: this.load.version, balance: this.load.balance() };
  }

  async close(): Promise<void> {
    this.closed = true;
    const err = new Error('the engine is shutting down');
    for (const s of [...this.waiting, ...this.running]) this.finish(s, err);
    if (this.loopActive) await new Promise<void>((r) => this.onStopped.push(r));
    await this.ep?.stop();
  }

  /** The placement as shipped to EP followers: the operator's, or the identity split. */
  private placementJson(): string {
    if (this.rawPlacement) return JSON.stringify(this.rawPlacement);
    const p = this.load.current;
    const phy2log = p.slotsOf.map((of) => {
      const row = new Array<number>(p.gpus * p.slotsPerGpu).fill(0);
      // Spare identity slots (experts not dividing evenly) repeat expert 0; nothing routes to them.
      of.forEach((slots, e) => slots.forEach((s) => (row[s] = e)));
      return row;
    });
    return JSON.stringify({ version: p.version, gpus: p.gpus, slotsPerGpu: p.slotsPerGpu, phy2log });
  }

  private kick(): void {
    if (this.loopActive || this.closed) return;
    this.loopActive = true;
    setImmediate(() => void this.iterate());
  }

  private async iterate(): Promise<void> {
    if (!this.closed) {
      const t0 = performance.now();
      this.stepping = true;
      let tokens = 0;
      try {
        tokens = await this.step();
      } catch (e) {
        // A failure outside a forward (which fails only its own sequences): fail what runs, keep serving.
        this.log({ level: 'error', msg: 'scheduler step failed', error: (e as Error).message });
        for (const s of [...this.running, ...this.admitting]) this.finish(s, e);
      } finally {
        this.stepping = false;
        const p = this.pendingPlacement;
        this.pendingPlacement = undefined;
        if (p) this.applyPlacement(p.r, p.raw);
      }
      const dt = (performance.now() - t0) / 1000;
      if (tokens > 0 && dt > 0) {
        const tps = tokens / dt;
        this.tokensPerSecond = this.tokensPerSecond === 0 ? tps : 0.9 * this.tokensPerSecond + 0.1 * tps;
      }
    }
    if (!this.closed && (this.waiting.length > 0 || this.running.length > 0)) {
      setImmediate(() => void this.iterate());
      return;
    }
    this.loopActive = false;
    for (const r of this.onStopped.splice(0)) r();
  }

  /** One scheduler iteration; returns the number of tokens sampled. */
  private async step(): Promise<number> {
    let sampled = 0;
    const admitted: Seq[] = (this.admitting = []);
    // Prompts to prefill are admitted up to a token budget per iteration (at least one), so one step never holds the
    // event loop for a whole queue of long prompts.
    const budget = this.opts.maxPrefillTokens ?? 4096;
    let prefillTokens = 0;
    while (this.waiting.length > 0 && this.running.length + admitted.length < this.opts.maxBatch) {
      const next = this.waiting[0];
      const n = next.req.handoff ? 0 : next.req.promptIds.length;
      if (prefillTokens > 0 && prefillTokens + n > budget) break;
      prefillTokens += n;
      admitted.push(this.waiting.shift()!);
    }
    const toPrefill: Seq[] = [];
    for (const s of admitted) {
      const h = s.req.handoff;
      if (h) {
        s.cache = SequenceCache.from(h.latent, h.kpe, h.promptIds.length, this.config.kv_lora_rank, this.config.qk_rope_head_dim);
        // The prefill pod drew once from this seed for the first token.
        if (s.req.params.temperature > 0) s.rng.next();
        // validateRequest checked that the hand-off carries what req.logprobs asks for.
        s.promptLogprobs = s.req.logprobs?.prompt ? h.promptLogprobs : undefined;
        this.start(s, h.firstToken, s.req.logprobs ? h.firstLogprob : undefined);
      } else toPrefill.push(s);
    }
    if (toPrefill.length > 0) {
      for (const s of toPrefill) s.cache = this.model.newCache(s.req.promptIds.length + 16);
      const prefilled = (s: Seq, tok: number, lp?: TokenLogprob): void => {
        if (s.kind === 'prefill') {
          const { latent, kpe } = s.cache!.export();
          const lps = s.req.logprobs ? { firstLogprob: lp, ...(s.promptLogprobs ? { promptLogprobs: s.promptLogprobs } : {}) } : {};
          this.finish(s, undefined, { id: s.req.id, promptIds: s.req.promptIds, firstToken: tok, latent, kpe, ...lps });
        } else this.start(s, tok, lp);
      };
      const scoring = toPrefill.filter((s) => s.req.logprobs?.prompt);
      const plain = toPrefill.filter((s) => !s.req.logprobs?.prompt);
      if (plain.length > 0) sampled += await this.forwardAndSample(plain, (s) => s.req.promptIds, prefilled);
      if (scoring.length > 0) sampled += await this.forwardAndSample(scoring, (s) => s.req.promptIds, prefilled, true);
    }
    // Sequences admitted this iteration already sampled (from their prompt or hand-off); they decode from the next.
    const decoding = this.running.filter((s) => !s.done && s.pending >= 0 && !admitted.includes(s));
    if (decoding.length > 0) sampled += await this.forwardAndSample(decoding, (s) => Int32Array.of(s.pending), (s, tok, lp) => this.emit(s, tok, lp));
    this.load.endStep();
    return sampled;
  }

  /**
   * One batched forward over the sequences' new tokens; a failure fails those sequences, not the engine. With
   * `allPositions` the logits of every new token come back and each sequence asking for prompt log-probabilities
   * gets them; the last position's row is sampled either way.
   */
  private async forwardAndSample(seqs: Seq[], tokens: (s: Seq) => Int32Array, then: (s: Seq, tok: number, lp?: TokenLogprob) => void, allPositions = false): Promise<number> {
    let logits: Float32Array;
    const items = seqs.map((s) => ({ cache: s.cache!, tokens: tokens(s) }));
    try {
      const dispatch = (l: number) => this.load.dispatcher(l);
      const ep = this.ep;
      if (ep) {
        const placement = this.load.current;
        logits = await this.model.forwardWith(items, dispatch, (call) => ep.run(call, placement, () => this.placementJson()), allPositions);
      } else logits = this.model.forward(items, dispatch, allPositions);
    } catch (e) {
      this.log({ level: 'error', msg: 'forward failed', error: (e as Error).message });
      for (const s of seqs) this.finish(s, e);
      return 0;
    }
    const V = this.config.vocab_size;
    const n = Math.min(V, this.tokenizer.vocabSize);
    let row0 = 0;
    seqs.forEach((s, i) => {
      const rows = allPositions ? items[i].tokens.length : 1;
      const first = row0;
      const last = row0 + rows - 1;
      row0 += rows;
      if (s.done) return;
      if (allPositions && s.req.logprobs?.prompt) s.promptLogprobs = promptLogprobs(logits, first, V, items[i].tokens, n, s.req.logprobs.topK);
      const p = s.req.params;
      const row = logits.subarray(last * V, (last + 1) * V);
      const tok = sample(row, n, p.temperature, p.topP, s.rng);
      then(s, tok, s.req.logprobs ? tokenLogprob(row, n, tok, s.req.logprobs.topK) : undefined);
    });
    return seqs.length;
  }

  /** A prefilled (or handed-off) sequence: its prompt log-probabilities, then its first token, or done at max_tokens 0. */
  private start(s: Seq, tok: number, lp?: TokenLogprob): void {
    if (s.promptLogprobs) {
      try {
        s.onPrompt?.(s.promptLogprobs);
      } catch (e) {
        this.finish(s, e);
        return;
      }
    }
    if (s.done) return;
    if (s.req.params.maxTokens === 0) {
      this.finish(s, undefined, { finish: 'length', usage: { promptTokens: s.req.promptIds.length, completionTokens: 0 } });
      return;
    }
    this.running.push(s);
    this.emit(s, tok, lp);
  }

  /** Streams a sampled token and retires the sequence when it is finished. */
  private emit(s: Seq, tok: number, lp?: TokenLogprob): void {
    s.completion++;
    try {
      s.onToken?.(tok, lp);
    } catch (e) {
      this.finish(s, e);
      return;
    }
    if (s.done) return;
    const p = s.req.params;
    let reason: FinishReason | undefined;
    if (p.stopTokenIds.includes(tok)) reason = 'stop';
    else if (s.completion >= p.maxTokens || s.req.promptIds.length + s.completion >= this.maxSequenceLength) reason = 'length';
    if (reason) this.finish(s, undefined, { finish: reason, usage: { promptTokens: s.req.promptIds.length, completionTokens: s.completion } });
    else s.pending = tok;
  }

  /** Resolves (or rejects with `err`) once, frees the cache and the slot. */
  private finish(s: Seq, err: unknown, value?: GenerateResult | Handoff): void {
    if (s.done) return;
    s.done = true;
    s.cache = undefined;
    if (s.signal && s.onAbort) s.signal.removeEventListener('abort', s.onAbort);
    const wi = this.waiting.indexOf(s);
    if (wi >= 0) this.waiting.splice(wi, 1);
    const ri = this.running.indexOf(s);
    if (ri >= 0) this.running.splice(ri, 1);
    if (err !== undefined) s.reject(err);
    else s.resolve(value!);
  }
}

function resolvePrecision(p: Precision | undefined): Precision {
  const native = nativeAvailable();
  if (p === undefined) return native ? 'fp8' : 'fp32';
  if (p !== 'fp8' && p !== 'bf16' && p !== 'fp32') throw new Error(`engine: precision must be fp8, bf16 or fp32, got ${String(p)}`);
  if (p !== 'fp32' && !native) throw new Error(`engine: precision ${p} needs the native kernels (run "make native"), or use precision fp32`);
  return p;
}
