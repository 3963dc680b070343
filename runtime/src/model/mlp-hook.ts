// Where a decoder layer's MLP runs, and the two drivers of the model's layer code (pure control flow). The layer code
// (block.ts, layer-range.ts) is written once, as generators that stop at each layer's MLP (the dense FFN or the MoE
// of its normalised input) and at that MLP's backward. The synchronous driver answers with the local layers: the
// single-process trainer runs straight through, no awaits. The asynchronous driver answers with a hook that may
// communicate (expert parallelism: the routed experts on other ranks, parallel/moe-ep.ts) and awaits only there.
import type { RuntimeModelConfig } from './config.js';
import type { Ctx } from './gemm.js';
import type { Params } from './params.js';
import type { Vec } from './tensor.js';

/** What the layer code reads of an MLP's forward. */
export interface MlpOut {
  y: Vec;
  /** Routed tokens per expert (MoE layers only). */
  counts?: Int32Array;
  balance: number;
}

/** An MLP's forward and its backward (B: Vec when local, Promise<Vec> when it communicates). */
export interface MlpFwd<B = Vec> extends MlpOut {
  back(dy: Vec): B;
}

export type AsyncMlpFwd = MlpFwd<Vec | Promise<Vec>>;

/** A layer's MLP call: x [T, d] after post_attention_layernorm; `prefix` names its parameters (`….mlp`). */
export interface MlpCall {
  prefix: string;
  layer: number;
  x: Vec;
  T: number;
  S: number;
  alpha: number;
}

/** A backward's request: the gradient dy on the output of the MLP forward `of`; answered with the gradient on its input. */
export interface MlpBack<M> {
  of: M;
  dy: Vec;
}

export type MlpHook = (ctx: Ctx, P: Params, prefix: string, c: RuntimeModelConfig, layer: number, x: Vec, T: number,
  S: number, alpha: number) => MlpFwd;
export type AsyncMlpHook = (ctx: Ctx, P: Params, prefix: string, c: RuntimeModelConfig, layer: number, x: Vec, T: number,
  S: number, alpha: number) => AsyncMlpFwd | Promise<AsyncMlpFwd>;

/** Runs a layer generator to its end, answering each request synchronously. */
export function drive<Y, R, N>(g: Generator<Y, R, N>, answer: (y: Y) => N): R {
  let r = g.next();
  while (!r.done) r = g.next(answer(r.value));
  return r.value;
}

/** drive() with answers that may be promises (awaited, one request at a time). */
export async function driveAsync<Y, R, N>(g: Generator<Y, R, N>, answer: (y: Y) => N | Promise<N>): Promise<R> {
  let r = g.next();
  while (!r.done) r = g.next(await answer(r.value));
  return r.value;
}

/** The hook's answer to a call of the layer code. */
export function callHook<F>(hook: (ctx: Ctx, P: Params, prefix: string, c: RuntimeModelConfig, layer: number, x: Vec, T: number,
  S: number, alpha: number) => F, ctx: Ctx, P: Params, c: RuntimeModelConfig): (m: MlpCall) => F {
  return (m) => hook(ctx, P, m.prefix, c, m.layer, m.x, m.T, m.S, m.alpha);
}
