// The serving engine's interface: what the HTTP layer (../http) and the CLI use. engine.ts implements it.
import type { RuntimeModelConfig } from '../../model/config.js';
import type { Tokenizer } from '../../data/tokenizer.js';
import type { ExpertParallelLeader } from './expert-parallel.js';
import type { ExpertAllToAll } from './expert-all-to-all.js';

export interface SamplingParams {
  /** Tokens to generate at most (the first token, sampled by prefill, counts); 0 only to score the prompt (logprobs.prompt). */
  maxTokens: number;
  /** 0 = greedy. */
  temperature: number;
  /** Nucleus sampling mass in (0, 1]. */
  topP: number;
  /** Seed of the sequence's own random stream (same seed + same prompt = same tokens). */
  seed: number;
  /** Generation stops after emitting one of these ids. */
  stopTokenIds: number[];
}

export type FinishReason = 'stop' | 'length';

export interface Usage { promptTokens: number; completionTokens: number }

/** A token's log-probability (float64 log-softmax of its logits, before temperature/top-p) and the top alternatives. */
export interface TokenLogprob {
  logprob: number;
  /** The k most likely ids, by log-probability descending (ties: lower id first). */
  top: { id: number; logprob: number }[];
}

/** Log-probabilities a request asks for (the API's `logprobs` and `echo`). */
export interface LogprobRequest {
  /** Alternatives per token, 0..MAX_TOP_LOGPROBS (logprobs.ts); the chosen token's value always comes. */
  topK: number;
  /** Also the prompt's tokens 1..n-1 (prefill keeps the logits of every prompt position for this request only). */
  prompt: boolean;
}

/** What prefill hands to decode: the prompt's compressed KV cache and the first sampled token. */
export interface Handoff {
  id: string;
  promptIds: Int32Array;
  firstToken: number;
  /** When the request asked for log-probabilities: the first token's, and (with `prompt`) the prompt's. */
  firstLogprob?: TokenLogprob;
  promptLogprobs?: TokenLogprob[];
  /** Per layer (dense and MoE, in order): latent c_kv [promptLen, kv_lora_rank] and RoPE'd k_pe [promptLen, qk_rope_head_dim]. */
  latent: Float32Array[];
  kpe: Float32Array[];
  /** What the MTP drafter needs (the request asked with `mtp`): see MtpHandoff. */
  mtp?: MtpHandoff;
}

/**
 * The MTP module's state after a prompt of n tokens: its cache entries 0..n-2 (each built from the main model's
 * hidden state at i and prompt token i+1) and the main model's last hidden state h_{n-1}, which with the first token
 * makes entry n-1 on the decode side.
 */
export interface MtpHandoff {
  /** c_kv [n-1, kv_lora_rank] and k_pe [n-1, qk_rope_head_dim] of the module's attention. */
  latent: Float32Array;
  kpe: Float32Array;
  /** [hidden_size]. */
  hidden: Float32Array;
}

/** Speculative decoding (an InferenceDeployment role's `speculative`). */
export interface SpeculativeOptions {
  /** The model's own first MTP module drafts. */
  method: 'mtp';
  /** Tokens drafted per decode step, 1..MAX_SPECULATIVE_TOKENS. */
  tokens: number;
}

export const MAX_SPECULATIVE_TOKENS = 8;

/** Cumulative counts since the engine started. */
export interface SpeculativeStats {
  /** Draft tokens proposed. */
  drafted: number;
  /** Draft tokens the main model accepted. */
  accepted: number;
  /** Sequence-steps that verified at least one draft (each emits accepted + 1 tokens). */
  steps: number;
}

/** Expert placement of one role (the operator's EPLB output, see ../README.md). */
export interface ExpertPlacement {
  version: number;
  gpus: number;
  slotsPerGpu: number;
  /** [moe layer][physical slot] → logical expert. */
  phy2log: number[][];
}

export interface EngineStats {
  running: number;
  waiting: number;
  /** Tokens held in KV caches now. */
  kvTokens: number;
  placementVersion: number;
  /** max/mean routed tokens per GPU (EP rank) over the last window, under the current placement. */
  balance: number;
  /** With speculative decoding on. */
  speculative?: SpeculativeStats;
}

/** Counters summed over the pods of a replica. */
export interface ReplicaLoad {
  counts: number[][];
  speculative?: SpeculativeStats;
}

export interface GenerateRequest {
  id: string;
  promptIds: Int32Array;
  params: SamplingParams;
  /** Absent: no log-probabilities (and nothing computed for them). */
  logprobs?: LogprobRequest;
  /** From a prefill pod; absent = prefill here. */
  handoff?: Handoff;
  /** Prefill only: also hand over the MTP drafter's state (Handoff.mtp), for a decode pod that drafts. */
  mtp?: boolean;
}

export interface GenerateResult { finish: FinishReason; usage: Usage }

/** Thrown (rejected) when admission refuses a request; the HTTP layer answers 429 with Retry-After. */
export class QueueFullError extends Error {
  constructor(readonly retryAfterSeconds: number, message = 'the server is at capacity; retry later') {
    super(message);
    this.name = 'QueueFullError';
  }
}

/** Thrown for a request the model cannot take (prompt too long, token id out of range...); HTTP 400. */
export class BadRequestError extends Error {
  constructor(readonly param: string, message: string) {
    super(message);
    this.name = 'BadRequestError';
  }
}

export interface ServeEngine {
  readonly config: RuntimeModelConfig;
  readonly tokenizer: Tokenizer;
  /** Longest prompt + completion a sequence may reach. */
  readonly maxSequenceLength: number;
  /** Set when the engine drafts (decode asks prefill for the drafter's state in the hand-off). */
  readonly speculative?: SpeculativeOptions;
  /** Prefill only (prefill role): batched with other prompts by the scheduler. */
  prefill(req: Omit<GenerateRequest, 'handoff'>, signal?: AbortSignal): Promise<Handoff>;
  /**
   * Prefill (unless handed off) and decode with continuous batching; tokens stream through onToken as they are sampled
   * (with their log-probability when req.logprobs asks). With req.logprobs.prompt, onPrompt gets the prompt's
   * log-probabilities (tokens 1..n-1) once, before the first token.
   */
  generate(req: GenerateRequest, onToken: (token: number, logprob?: TokenLogprob) => void, signal?: AbortSignal, onPrompt?: (logprobs: TokenLogprob[]) => void): Promise<GenerateResult>;
  /** Cumulative routed-token counts [moe layer][logical expert] since start (this process's sequences). */
  expertLoad(): number[][];
  /**
   * A data-parallel replica (all-to-all decode): the whole replica's load and speculative counters, summed over its
   * pods at a recent step boundary (each call asks for a fresh sum); undefined until the first sum arrives.
   */
  replicaLoad?(): ReplicaLoad | undefined;
  /** Swaps the expert placement between two steps; requests in flight continue. */
  setPlacement(p: ExpertPlacement): void;
  stats(): EngineStats;
  /** Stops admitting, finishes nothing more, rejects waiters; resolves when the loop has stopped. */
  close(): Promise<void>;
}

/**
 * engine.ts exports `class Engine implements ServeEngine` with
 *   `static load(modelPath: string, opts: EngineOptions): Promise<Engine>` (export folder or run folder) and
 *   `static random(config: RuntimeModelConfig, tokenizer: Tokenizer, opts: EngineOptions, seed: number): Engine` (tests);
 * handoff.ts exports `encodeHandoff(h: Handoff): Uint8Array` and `decodeHandoff(bytes: Uint8Array, c: RuntimeModelConfig): Handoff`.
 */
export interface EngineOptions {
  /** Sequences decoded together in one step. */
  maxBatch: number;
  /** Requests waiting for a batch slot beyond which admission answers QueueFullError. */
  maxQueue: number;
  /** Longest prompt + completion; default the model's training sequence length or 4096. */
  maxSequenceLength?: number;
  /** Prompt tokens prefilled in one scheduler iteration at most (a longer single prompt still goes alone); default 4096. */
  maxPrefillTokens?: number;
  /** Default fp8 when the native kernels are built, else fp32. */
  precision?: 'fp8' | 'bf16' | 'fp32';
  /** How KV caches store tokens (kv-cache.ts): default f32 in the fp32 engine, else bf16; fp8 is a quarter of f32. */
  kvCache?: 'f32' | 'bf16' | 'fp8';
  /** EP ranks the identity placement (no setPlacement yet) spreads the experts over, for stats().balance; default 1. */
  epSize?: number;
  /** Draft tokens with the model's MTP module and verify them in one forward (absent: one token per step). */
  speculative?: SpeculativeOptions;
  /** Rank 0 of a multi-pod replica: routed experts run on the EP ranks hosting their slots (expert-parallel.ts). */
  expertParallel?: ExpertParallelLeader;
  /**
   * A pod of a data-parallel replica (expert-all-to-all.ts): it runs whole steps for its own sequences, in lockstep
   * with the other pods, and the routed experts are an all-to-all. Excludes expertParallel.
   */
  allToAll?: ExpertAllToAll;
  /** All-to-all only: the longest the leader of an idle replica waits between step boundaries (ms; default 200; it backs off from 1). */
  idleTickMs?: number;
  log?: (entry: Record<string, unknown>) => void;
}
