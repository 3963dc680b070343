// The serving engine: continuous batching over the inference model. Each iteration of the loop
//   1. admits waiting requests while fewer than maxBatch sequences run (hand-offs install their cache; new prompts
//      are prefilled together in one batched forward and sample their first token),
//   2. runs ONE decode step for every running sequence together (their tokens batched through the projections and
//      experts, attention per sequence over its own cache), samples, streams, and retires finished sequences,
//   3. yields to the event loop (setImmediate) so the HTTP server stays responsive.
// With speculative decoding (opts.speculative) step 2 first lets the MTP module draft up to N tokens per sequence
// (batched across sequences; its own cache per sequence), then verifies every sequence's pending token + drafts in
// one forward of the main model and emits the accepted prefix plus one token (speculative.ts); the main and MTP
// caches are cut back to the accepted length, so sequences in one batch advance by different numbers of tokens.
// A request asking for prompt log-probabilities (echo) is prefilled in its own forward that keeps the logits of every
// prompt position; the others keep only the last position's, so they pay nothing for it.
// Aborts free the slot at once (a sequence aborted during a step is dropped before sampling); a placement set during
// a step (possible only with expert parallelism, whose step awaits the network) takes effect at the next step.
// A pod of a data-parallel replica (opts.allToAll) runs the same step for its own sequences, but in lockstep with the
// replica's other pods: its loop never stops while the replica lives; each iteration first agrees with the others on
// the step (expert-all-to-all.ts: rounds, the leader's placement, the load sum, closing), idles a tick when no pod has
// work, and joins every MoE layer of every agreed round, with zero rows when it has none.
import type { Tokenizer } from '../../data/tokenizer.js';
import type { RuntimeModelConfig } from '../../model/config.js';
import { buildParams } from '../../model/transformer.js';
import { Rng } from '../../model/rng.js';
import { alloc32 } from '../../model/tensor.js';
import { nativeAvailable } from '../../model/precision.js';
import { ExpertLoad } from './expert-load.js';
import { SequenceCache } from './kv-cache.js';
import { loadModelFolder } from './load.js';
import { InferenceModel, type BatchItem, type ForwardOut, type Precision } from './inference-model.js';
import type { ExpertParallelLeader } from './expert-parallel.js';
import type { ExpertAllToAll } from './expert-all-to-all.js';
import { identityPlacement, resolvePlacement, type ResolvedPlacement } from './expert-slots.js';
import { sample } from './sampler.js';
import { draftToken, verifyDrafts, type Draft } from './speculative.js';
import { promptLogprobs, tokenLogprob } from './logprobs.js';
import { MAX_SPECULATIVE_TOKENS, QueueFullError, type ReplicaLoad, type SpeculativeOptions, type SpeculativeStats, type EngineOptions, type EngineStats, type FinishReason, type GenerateRequest, type GenerateResult, type Handoff, type ExpertPlacement, type ServeEngine, type TokenLogprob } from './types.js';
import { validateRequest } from './validate.js';
import { weightsFromParams, type ModelWeights } from './weights.js';

/** A sequence's MTP drafter state. */
interface SpecState {
  /** The MTP module's cache: entries 0..length-1, each built from a verified main-model hidden state. */
  cache: SequenceCache;
  /** Main-model hidden states [rows, d] of the positions from cache.length up to the main cache's last one. */
  hidden: Float32Array;
  /** The tokens following those positions, but for the last (the sequence's pending token). */
  known: number[];
}

interface Seq {
  req: GenerateRequest;
  spec?: SpecState;
  /** This step's drafts (set by draft(), cleared by the verify). */
  drafts?: Draft[];
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
  readonly speculative?: SpeculativeOptions;
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
  private readonly a2a?: ExpertAllToAll;
  /** All-to-all leader: the placement to send at the next step boundary. */
  private a2aPlacement?: ExpertPlacement;
  /** All-to-all: the replica's counters at the last sum, and whether a fresh sum is wanted. */
  private replicaSum?: ReplicaLoad;
  private wantLoad = false;
  /** All-to-all: wakes the idle wait when work arrives. */
  private wake?: () => void;
  /** All-to-all: settles when the lockstep loop ends (the leader closed and the replica drained: resolves; a pod failed: rejects). */
  readonly replicaDone?: Promise<void>;
  private stepping = false;
  /** Sequences taken from the queue by the step in progress. */
  private admitting: Seq[] = [];
  private pendingPlacement?: { r: ResolvedPlacement; raw: ExpertPlacement };
  /** The placement in force as the operator wrote it (shipped to the EP followers). */
  private rawPlacement?: ExpertPlacement;
  /** Draft tokens per step (0: speculative decoding off). */
  private readonly draftTokens: number;
  private readonly specStats: SpeculativeStats = { drafted: 0, accepted: 0, steps: 0 };

  private constructor(readonly model: InferenceModel, readonly tokenizer: Tokenizer, private readonly opts: EngineOptions, trainedSeqLen?: number) {
    if (!Number.isInteger(opts.maxBatch) || opts.maxBatch < 1) throw new Error(`engine: maxBatch must be an integer >= 1, got ${String(opts.maxBatch)}`);
    if (opts.maxPrefillTokens !== undefined && (!Number.isInteger(opts.maxPrefillTokens) || opts.maxPrefillTokens < 1)) throw new Error(`engine: maxPrefillTokens must be an integer >= 1, got ${String(opts.maxPrefillTokens)}`);
    if (!Number.isInteger(opts.maxQueue) || opts.maxQueue < 0) throw new Error(`engine: maxQueue must be an integer >= 0, got ${String(opts.maxQueue)}`);
    const msl = opts.maxSequenceLength ?? trainedSeqLen ?? 4096;
    if (!Number.isInteger(msl) || msl < 2) throw new Error(`engine: maxSequenceLength must be an integer >= 2, got ${String(msl)}`);
    this.maxSequenceLength = msl;
    const c = model.config;
    this.ep = opts.expertParallel;
    this.a2a = opts.allToAll;
    if (this.ep && this.a2a) throw new Error('engine: expertParallel (the leader star) and allToAll (data-parallel pods) exclude each other; set one');
    if (opts.epSize !== undefined && (!Number.isInteger(opts.epSize) || opts.epSize < 1)) throw new Error(`engine: epSize must be an integer >= 1, got ${String(opts.epSize)}`);
    const group = this.ep ?? this.a2a;
    const gpus = group ? group.size : opts.epSize ?? 1;
    if (group && opts.epSize !== undefined && opts.epSize !== group.size) throw new Error(`engine: epSize ${opts.epSize} differs from the expert-parallel group size ${group.size}`);
    this.load = new ExpertLoad(model.moeLayers, c.n_routed_experts, identityPlacement(model.moeLayers, c.n_routed_experts, gpus));
    this.log = opts.log ?? (() => {});
    if (opts.kvCache !== undefined) model.kvCache = opts.kvCache;
    const sp = opts.speculative;
    if (sp !== undefined) {
      if (sp.method !== 'mtp') throw new Error(`engine: speculative.method must be "mtp", got ${JSON.stringify(sp.method)}`);
      if (!Number.isInteger(sp.tokens) || sp.tokens < 1 || sp.tokens > MAX_SPECULATIVE_TOKENS) throw new Error(`engine: speculative.tokens must be an integer in 1..${MAX_SPECULATIVE_TOKENS}, got ${String(sp.tokens)}`);
      if (!model.mtp) throw new Error(`engine: speculative decoding with method mtp needs the model's MTP module (num_nextn_predict_layers >= 1 and the weights of model.layers.${c.num_hidden_layers}.*); this model has ${c.num_nextn_predict_layers === 0 ? 'num_nextn_predict_layers 0' : 'no such weights'}: serve a model trained with MTP, or turn speculative off`);
    }
    this.draftTokens = sp?.tokens ?? 0;
    if (sp) this.speculative = { method: sp.method, tokens: sp.tokens };
    if (this.a2a) {
      if (opts.idleTickMs !== undefined && !(opts.idleTickMs >= 0)) throw new Error(`engine: idleTickMs must be a number >= 0, got ${String(opts.idleTickMs)}`);
      this.a2a.bind(model.moeLayers, c.hidden_size, (m) => model.moeAt(m));
      // The lockstep loop runs for the replica's life: the other pods' collectives need this one.
      this.loopActive = true;
      this.replicaDone = this.lockstepLoop();
      this.replicaDone.catch(() => {});
    }
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

  replicaLoad(): ReplicaLoad | undefined {
    if (!this.a2a) return { counts: this.load.cumulative(), ...(this.draftTokens > 0 ? { speculative: { ...this.specStats } } : {}) };
    this.wantLoad = true;
    this.wake?.();
    return this.replicaSum;
  }

  /** This pod's counters as one vector for the replica sum: counts [moe layer × expert], then drafted, accepted, steps. */
  private loadVector(): Float64Array {
    const rows = this.load.cumulative();
    const E = this.config.n_routed_experts;
    const v = new Float64Array(rows.length * E + 3);
    rows.forEach((r, l) => v.set(r, l * E));
    v.set([this.specStats.drafted, this.specStats.accepted, this.specStats.steps], rows.length * E);
    return v;
  }

  setPlacement(p: ExpertPlacement): void {
    if (this.a2a && this.a2a.rank !== 0) throw new Error(`placement: pod ${this.a2a.rank} of a data-parallel replica takes its placement from the replica's leader (pod 0) at a step boundary; set it there`);
    // Validated in full before anything changes, so a bad placement leaves the old one in force.
    const r = resolvePlacement(p, this.model.moeLayers, this.model.config.n_routed_experts);
    if (this.a2a) {
      if (r.gpus % this.a2a.size !== 0) throw new Error(`placement: gpus is ${r.gpus}, not a multiple of this replica's ${this.a2a.size} pods; the placement must match the replica's expert parallelism`);
      // Every pod adopts it at the same step boundary (the next agreement carries it).
      this.a2aPlacement = p;
      this.wake?.();
      return;
    }
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
    return { running: this.running.length, waiting: this.waiting.length, kvTokens: kv, placementVersion: this.load.version, balance: this.load.balance(), ...(this.draftTokens > 0 ? { speculative: { ...this.specStats } } : {}) };
  }

  async close(): Promise<void> {
    this.closed = true;
    const err = new Error('the engine is shutting down');
    for (const s of [...this.waiting, ...this.running]) this.finish(s, err);
    // A data-parallel pod keeps joining the replica's steps (with zero rows) until the leader closes the replica.
    this.wake?.();
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
    this.wake?.();
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
      this.noteThroughput(tokens, t0);
    }
    if (!this.closed && (this.waiting.length > 0 || this.running.length > 0)) {
      setImmediate(() => void this.iterate());
      return;
    }
    this.loopActive = false;
    for (const r of this.onStopped.splice(0)) r();
  }

  /**
   * The loop of a data-parallel pod: a step per iteration, in lockstep with the replica's pods, until the leader has
   * closed and no pod holds a sequence; a pod still open then closes too. A collective failure (a pod gone) fails
   * every sequence here and ends the loop with that error.
   */
  private async lockstepLoop(): Promise<void> {
    await new Promise((r) => setImmediate(r));
    // Only the leader waits between the boundaries of an idle replica (backing off from 1 ms to idleTickMs; work
    // arriving here, or wakeReplica() when it relays a sequence to another pod, ends the wait at once): the other
    // pods go straight to the next boundary and block in its header exchange (no CPU) until the leader joins. Every
    // request of the replica passes through the leader, so an idle replica costs one small exchange per tick.
    const idleMax = this.opts.idleTickMs ?? 200;
    try {
      for (;;) {
        const t0 = performance.now();
        this.stepping = true;
        let tokens = 0;
        try {
          tokens = await this.step();
        } catch (e) {
          if (this.a2a!.broken) throw this.a2a!.broken;
          this.log({ level: 'error', msg: 'scheduler step failed', error: (e as Error).message });
          for (const s of [...this.running, ...this.admitting]) this.finish(s, e);
          // Whatever failed here, the rounds agreed for this step are still owed to the other pods (a no-op if paid).
          await this.a2a!.endStep(this.load.current);
        } finally {
          this.stepping = false;
        }
        if (this.agreed?.ended) {
          this.closed = true;
          return;
        }
        this.noteThroughput(tokens, t0);
        // No pod had work: wait a tick (or until work, a placement or a close arrives here) before the next boundary.
        if (this.a2a!.rank === 0 && this.agreed?.rounds === 0 && this.waiting.length === 0 && this.running.length === 0 && !this.a2aPlacement && !this.wantLoad && !this.closed) {
          await new Promise<void>((r) => {
            const t = setTimeout(() => { this.wake = undefined; r(); }, this.idleMs);
            this.wake = () => { clearTimeout(t); this.wake = undefined; r(); };
          });
          this.idleMs = Math.min(idleMax, this.idleMs * 2);
        } else {
          if (this.agreed?.rounds !== 0) this.idleMs = 1;
          await new Promise((r) => setImmediate(r));
        }
      }
    } catch (e) {
      this.log({ level: 'error', msg: 'replica failed: a pod left the lockstep', error: (e as Error).message });
      this.closed = true;
      for (const s of [...this.waiting, ...this.running, ...this.admitting]) this.finish(s, e);
      throw e;
    } finally {
      this.loopActive = false;
      for (const r of this.onStopped.splice(0)) r();
    }
  }

  /** The step's tokens into the smoothed tokens/s behind retryAfter() (t0: the step's start, performance.now()). */
  private noteThroughput(tokens: number, t0: number): void {
    const dt = (performance.now() - t0) / 1000;
    if (tokens > 0 && dt > 0) {
      const tps = tokens / dt;
      this.tokensPerSecond = this.tokensPerSecond === 0 ? tps : 0.9 * this.tokensPerSecond + 0.1 * tps;
    }
  }

  /** All-to-all leader: the current wait between idle boundaries. */
  private idleMs = 1;

  /**
   * All-to-all leader: work is coming to some pod (the leader relayed a sequence to it): the next boundary comes at
   * once and the idle back-off restarts.
   */
  wakeReplica(): void {
    this.idleMs = 1;
    this.wake?.();
  }

  /** All-to-all: what the pods agreed at this step's boundary. */
  private agreed?: { rounds: number; ended: boolean };

  /** All-to-all: the step boundary (rounds this pod needs; placement and load sum ride along). */
  private async agree(rounds: number): Promise<number> {
    const a = this.a2a!;
    const placement = this.a2aPlacement;
    const wantLoad = this.wantLoad;
    const busy = this.running.length > 0 || this.waiting.length > 0 || this.admitting.some((s) => !s.done);
    const ag = await a.agree({ rounds, closing: this.closed, busy, wantLoad, ...(placement ? { placement: JSON.stringify(placement) } : {}) }, () => this.loadVector());
    this.agreed = ag;
    if (placement && this.a2aPlacement === placement) this.a2aPlacement = undefined;
    if (wantLoad) this.wantLoad = false;
    if (ag.placement !== undefined) {
      // Validated on the leader before it was sent; every pod switches here, before this step's first MoE layer.
      const raw = JSON.parse(ag.placement) as ExpertPlacement;
      this.applyPlacement(resolvePlacement(raw, this.model.moeLayers, this.config.n_routed_experts), raw);
    }
    if (ag.load) {
      const E = this.config.n_routed_experts;
      const L = this.model.moeLayers;
      const v = ag.load;
      this.replicaSum = {
        counts: Array.from({ length: L }, (_, l) => Array.from(v.subarray(l * E, (l + 1) * E))),
        ...(this.draftTokens > 0 ? { speculative: { drafted: v[L * E], accepted: v[L * E + 1], steps: v[L * E + 2] } } : {}),
      };
    }
    return ag.rounds;
  }

  /** One scheduler iteration; returns the number of tokens sampled. */
  private async step(): Promise<number> {
    // Sequences decoding this step: those that ran before it (the admitted ones sample from their prompt or hand-off).
    const decoding0 = this.running.filter((s) => !s.done && s.pending >= 0);
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
    if (this.a2a) {
      // Forwards this step: plain prompts, prompts scored at every position, the decode step.
      const rounds = (admitted.some((s) => !s.req.handoff && !s.req.logprobs?.prompt) ? 1 : 0) + (admitted.some((s) => !s.req.handoff && s.req.logprobs?.prompt) ? 1 : 0) + (decoding0.length > 0 ? 1 : 0);
      // Hand-offs admitted while no pod runs a forward still start (their first token came with the hand-off).
      if ((await this.agree(rounds)) === 0 && admitted.length === 0) return 0;
    }
    try {
      return await this.stepForwards(admitted, toPrefill, decoding0);
    } finally {
      if (this.a2a) await this.a2a.endStep(this.load.current);
    }
  }

  /** The step's hand-offs, prefill forwards and decode forward. */
  private async stepForwards(admitted: Seq[], toPrefill: Seq[], decoding0: Seq[]): Promise<number> {
    let sampled = 0;
    for (const s of admitted) {
      const h = s.req.handoff;
      if (h) {
        s.cache = SequenceCache.from(h.latent, h.kpe, h.promptIds.length, this.config.kv_lora_rank, this.config.qk_rope_head_dim, this.model.kvCache);
        // Without the drafter's state (a prefill pod not asked for it, or of an older runtime) the sequence decodes
        // one token per step.
        if (this.draftTokens > 0 && h.mtp) {
          const n = h.promptIds.length - 1;
          s.spec = { cache: SequenceCache.from([h.mtp.latent], [h.mtp.kpe], n, this.config.kv_lora_rank, this.config.qk_rope_head_dim, this.model.kvCache), hidden: h.mtp.hidden, known: [] };
        }
        // The prefill pod drew once from this seed for the first token.
        if (s.req.params.temperature > 0) s.rng.next();
        // validateRequest checked that the hand-off carries what req.logprobs asks for.
        s.promptLogprobs = s.req.logprobs?.prompt ? h.promptLogprobs : undefined;
        this.start(s, h.firstToken, s.req.logprobs ? h.firstLogprob : undefined);
      } else toPrefill.push(s);
    }
    if (toPrefill.length > 0) {
      for (const s of toPrefill) s.cache = this.model.newCache(s.req.promptIds.length + 16);
      const d = this.config.hidden_size;
      const prefilled = (s: Seq, tok: number, lp?: TokenLogprob, hidden?: Float32Array): void => {
        const ids = s.req.promptIds;
        if (s.kind === 'prefill') {
          const { latent, kpe } = s.cache!.export();
          const lps = s.req.logprobs ? { firstLogprob: lp, ...(s.promptLogprobs ? { promptLogprobs: s.promptLogprobs } : {}) } : {};
          let mtp: Handoff['mtp'];
          if (hidden && this.model.mtp) {
            try {
              mtp = this.mtpPrompt(ids, hidden);
            } catch (e) {
              this.finish(s, e);
              return;
            }
          }
          this.finish(s, undefined, { id: s.req.id, promptIds: ids, firstToken: tok, latent, kpe, ...lps, ...(mtp ? { mtp } : {}) });
        } else {
          // The drafter catches up over the prompt at this sequence's first draft.
          if (hidden) s.spec = { cache: this.model.mtp!.newCache(ids.length + 16), hidden: hidden.slice(0, ids.length * d), known: Array.from(ids.subarray(1)) };
          this.start(s, tok, lp);
        }
      };
      const wantsHidden = (s: Seq): boolean => !!this.model.mtp && (s.kind === 'prefill' ? s.req.mtp === true : this.draftTokens > 0);
      const scoring = toPrefill.filter((s) => s.req.logprobs?.prompt);
      const plain = toPrefill.filter((s) => !s.req.logprobs?.prompt);
      if (plain.length > 0) sampled += await this.forwardAndSample(plain, (s) => s.req.promptIds, prefilled, false, plain.some(wantsHidden) ? wantsHidden : undefined);
      if (scoring.length > 0) sampled += await this.forwardAndSample(scoring, (s) => s.req.promptIds, prefilled, true, scoring.some(wantsHidden) ? wantsHidden : undefined);
    }
    // Sequences admitted this iteration already sampled (from their prompt or hand-off); they decode from the next.
    const decoding = decoding0.filter((s) => !s.done);
    if (decoding.length > 0) sampled += this.draftTokens > 0 ? await this.speculativeStep(decoding) : await this.forwardAndSample(decoding, (s) => Int32Array.of(s.pending), (s, tok, lp) => this.emit(s, tok, lp));
    this.load.endStep();
    return sampled;
  }

  /** One batched forward (expert parallel or local); undefined when it failed, having failed its sequences. */
  private async runForward(seqs: Seq[], items: BatchItem[], all: boolean, hidden: boolean): Promise<ForwardOut | undefined> {
    try {
      const dispatch = (l: number) => this.load.dispatcher(l);
      const ep = this.ep;
      if (ep) {
        const placement = this.load.current;
        return await this.model.runWith(items, dispatch, (call) => ep.run(call, placement, () => this.placementJson()), { all, hidden });
      }
      const a2a = this.a2a;
      if (a2a) {
        const placement = this.load.current;
        try {
          return await this.model.runWith(items, dispatch, (call) => a2a.run(call, placement), { all, hidden });
        } finally {
          // A forward that failed here between MoE layers still owes the replica the rest of its round.
          if (!a2a.broken) await a2a.endRound(placement);
        }
      }
      return this.model.run(items, dispatch, { all, hidden });
    } catch (e) {
      // A pod of the replica is gone: not this forward's failure but the replica's (the loop ends).
      if (this.a2a?.broken) throw this.a2a.broken;
      this.log({ level: 'error', msg: 'forward failed', error: (e as Error).message });
      for (const s of seqs) this.finish(s, e);
      return undefined;
    }
  }

  /**
   * One batched forward over the sequences' new tokens; a failure fails those sequences, not the engine. With
   * `allPositions` the logits of every new token come back and each sequence asking for prompt log-probabilities
   * gets them; the last position's row is sampled either way. Sequences `hidden` picks also get their new tokens'
   * hidden states [n, d] (the MTP drafter's input).
   */
  private async forwardAndSample(seqs: Seq[], tokens: (s: Seq) => Int32Array, then: (s: Seq, tok: number, lp?: TokenLogprob, hidden?: Float32Array) => void,
    allPositions = false, hidden?: (s: Seq) => boolean): Promise<number> {
    const items = seqs.map((s) => ({ cache: s.cache!, tokens: tokens(s) }));
    const out = await this.runForward(seqs, items, allPositions, hidden !== undefined);
    if (!out) return 0;
    const logits = out.logits;
    const V = this.config.vocab_size;
    const d = this.config.hidden_size;
    const n = Math.min(V, this.tokenizer.vocabSize);
    let row0 = 0;
    let tok0 = 0;
    seqs.forEach((s, i) => {
      const rows = allPositions ? items[i].tokens.length : 1;
      const first = row0;
      const last = row0 + rows - 1;
      row0 += rows;
      const t0 = tok0;
      tok0 += items[i].tokens.length;
      if (s.done) return;
      if (allPositions && s.req.logprobs?.prompt) s.promptLogprobs = promptLogprobs(logits, first, V, items[i].tokens, n, s.req.logprobs.topK);
      const p = s.req.params;
      const row = logits.subarray(last * V, (last + 1) * V);
      const tok = sample(row, n, p.temperature, p.topP, s.rng);
      const h = out.hidden && hidden?.(s) ? out.hidden.subarray(t0 * d, tok0 * d) : undefined;
      then(s, tok, s.req.logprobs ? tokenLogprob(row, n, tok, s.req.logprobs.topK) : undefined, h);
    });
    return seqs.length;
  }

  /** Tokens a sequence may draft this step: none past max_tokens or the sequence limit (the step emits drafts + 1). */
  private draftBudget(s: Seq): number {
    if (!s.spec) return 0;
    const done = s.req.promptIds.length + s.completion;
    return Math.max(0, Math.min(this.draftTokens, s.req.params.maxTokens - s.completion - 1, this.maxSequenceLength - done - 1));
  }

  /** The MTP state a prefill pod hands over: the module run over prompt entries 0..n-2, and h_{n-1}. */
  private mtpPrompt(ids: Int32Array, hidden: Float32Array): NonNullable<Handoff['mtp']> {
    const mtp = this.model.mtp!;
    const d = this.config.hidden_size;
    const n = ids.length;
    const cache = mtp.newCache(n);
    if (n > 1) mtp.forward([{ cache, hidden: hidden.subarray(0, (n - 1) * d), tokens: ids.subarray(1) }]);
    const { latent, kpe } = cache.export();
    return { latent: latent[0], kpe: kpe[0], hidden: hidden.slice((n - 1) * d, n * d) };
  }

  /**
   * The MTP module drafts for the sequences: its first forward adds each sequence's entries up to the main cache's
   * last position (verified states) and drafts one token; each further draft feeds the module its own output. The
   * speculative entries are cut off again, so the module's cache stays at the main cache's length.
   */
  private draft(seqs: Seq[]): void {
    const mtp = this.model.mtp!;
    const d = this.config.hidden_size;
    const V = this.config.vocab_size;
    const n = Math.min(V, this.tokenizer.vocabSize);
    let act = seqs;
    let items = act.map((s) => ({ cache: s.spec!.cache, hidden: s.spec!.hidden, tokens: Int32Array.from([...s.spec!.known, s.pending]) }));
    for (let j = 1; act.length > 0; j++) {
      const out = mtp.forward(items);
      const next: Seq[] = [];
      const nextItems: typeof items = [];
      act.forEach((s, i) => {
        const dr = draftToken(out.logits.subarray(i * V, (i + 1) * V), n, s.req.params, s.rng);
        (s.drafts ??= []).push(dr);
        if (j < this.draftBudget(s)) {
          next.push(s);
          nextItems.push({ cache: s.spec!.cache, hidden: out.out.slice(i * d, (i + 1) * d), tokens: Int32Array.of(dr.id) });
        }
      });
      act = next;
      items = nextItems;
    }
    for (const s of seqs) {
      s.spec!.cache.length = s.cache!.length;
      s.spec!.hidden = new Float32Array(0);
      s.spec!.known = [];
    }
  }

  /**
   * A decode step with drafting: drafts, then one forward of the main model over every sequence's pending token and
   * drafts, the verdict per sequence, the caches cut back to what was accepted, and the emitted tokens streamed.
   */
  private async speculativeStep(seqs: Seq[]): Promise<number> {
    const drafting = seqs.filter((s) => this.draftBudget(s) > 0);
    if (drafting.length > 0) {
      try {
        this.draft(drafting);
      } catch (e) {
        this.log({ level: 'error', msg: 'draft failed', error: (e as Error).message });
        for (const s of drafting) this.finish(s, e);
        seqs = seqs.filter((s) => !s.done);
        if (seqs.length === 0) return 0;
      }
    }
    const items = seqs.map((s) => ({ cache: s.cache!, tokens: Int32Array.from([s.pending, ...(s.drafts ?? []).map((x) => x.id)]) }));
    const before = seqs.map((s) => s.cache!.length);
    const out = await this.runForward(seqs, items, true, true);
    if (!out) return 0;
    const V = this.config.vocab_size;
    const d = this.config.hidden_size;
    const n = Math.min(V, this.tokenizer.vocabSize);
    let row0 = 0;
    let emitted = 0;
    seqs.forEach((s, i) => {
      const rows = items[i].tokens.length;
      const r0 = row0;
      row0 += rows;
      const drafts = s.drafts ?? [];
      s.drafts = undefined;
      if (s.done) return;
      const rowsOf = out.logits.subarray(r0 * V, (r0 + rows) * V);
      const v = verifyDrafts(rowsOf, V, n, drafts, s.req.params, s.rng);
      // Keep the pending token and the accepted drafts in the main cache; the rest is overwritten later.
      s.cache!.length = before[i] + 1 + v.accepted;
      const spec = s.spec;
      if (spec) {
        const h = out.hidden!.subarray(r0 * d, (r0 + 1 + v.accepted) * d);
        if (drafts.length > 0) {
          spec.hidden = h.slice();
          spec.known = drafts.slice(0, v.accepted).map((x) => x.id);
        } else {
          const grown = new Float32Array(spec.hidden.length + h.length);
          grown.set(spec.hidden);
          grown.set(h, spec.hidden.length);
          spec.hidden = grown;
          spec.known.push(s.pending);
        }
      }
      if (drafts.length > 0) {
        this.specStats.drafted += drafts.length;
        this.specStats.accepted += v.accepted;
        this.specStats.steps++;
      }
      v.tokens.forEach((tok, j) => {
        if (s.done) return;
        const row = rowsOf.subarray(j * V, (j + 1) * V);
        this.emit(s, tok, s.req.logprobs ? tokenLogprob(row, n, tok, s.req.logprobs.topK) : undefined);
        emitted++;
      });
    });
    return emitted;
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
