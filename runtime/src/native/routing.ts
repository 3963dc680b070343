// DeepSeek-V3 MoE routing (REFERENCE.md section 1), dispatch to expert-contiguous rows and combine.
// Ties: the lower index wins, for groups and experts alike; each token's experts are listed by
// biased score descending.
import { binding, callAsync } from './binding.js';
import { array, dim, finite } from './check.js';

export interface RouterConfig {
  tokens: number;
  experts: number;
  /** Expert groups (8 in V3); must divide experts. */
  groups: number;
  /** Groups kept per token (4 in V3). */
  topkGroup: number;
  /** Experts per token (8 in V3). */
  topk: number;
  /** Routed scaling factor (2.5 in V3). */
  scale: number;
}

export interface Routing {
  /** [tokens, topk] expert ids. */
  indices: Int32Array;
  /** [tokens, topk] unbiased sigmoid scores normalised to sum 1, times scale. */
  weights: Float32Array;
  /** [experts] tokens routed to each expert. */
  counts: Int32Array;
}

/** Expert-contiguous order of the tokens*topk (token, slot) pairs. */
export interface DispatchPlan {
  tokens: number;
  topk: number;
  experts: number;
  /** [experts+1]: expert e owns rows [offsets[e], offsets[e+1]). */
  offsets: Int32Array;
  /** [rows]: the slot t*topk+j that row r holds. */
  slotOfRow: Int32Array;
  /** [tokens*topk]: the row of slot t*topk+j. */
  rowOfSlot: Int32Array;
}

function routeArgs(fn: string, logits: unknown, bias: unknown, c: RouterConfig) {
  if (typeof c !== 'object' || c === null) throw new TypeError(`${fn}: config must be a RouterConfig object`);
  const T = dim(fn, 'config.tokens', c.tokens), E = dim(fn, 'config.experts', c.experts);
  const G = dim(fn, 'config.groups', c.groups), TG = dim(fn, 'config.topkGroup', c.topkGroup), K = dim(fn, 'config.topk', c.topk);
  finite(fn, 'config.scale', c.scale);
  if (G === 0 || E % G !== 0) throw new RangeError(`${fn}: config.groups (${G}) must divide config.experts (${E})`);
  if (TG < 1 || TG > G) throw new RangeError(`${fn}: config.topkGroup must be in [1, groups = ${G}], got ${TG}`);
  if (K < 1 || K > TG * (E / G)) throw new RangeError(`${fn}: config.topk must be in [1, topkGroup*experts/groups = ${TG * (E / G)}], got ${K}`);
  array(fn, 'logits', logits, Float32Array, T * E, `tokens*experts = ${T}*${E}`);
  array(fn, 'bias', bias, Float32Array, E, `experts = ${E}`);
  const out: Routing = { indices: new Int32Array(T * K), weights: new Float32Array(T * K), counts: new Int32Array(E) };
  return [logits as Float32Array, bias as Float32Array, T, E, G, TG, K, c.scale, out.indices, out.weights, out.counts, out] as const;
}

/** Routes tokens: logits [tokens, experts] = x . W_gate, bias [experts] (selection only). Throws on NaN/inf. */
export function route(logits: Float32Array, bias: Float32Array, config: RouterConfig): Routing {
  const a = routeArgs('route', logits, bias, config);
  binding().route(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]);
  return a[11];
}

export async function routeAsync(logits: Float32Array, bias: Float32Array, config: RouterConfig): Promise<Routing> {
  const a = routeArgs('routeAsync', logits, bias, config);
  await callAsync(binding().route, a.slice(0, 11));
  return a[11];
}

/** d loss / d logits [tokens, experts] from d loss / d weights [tokens, topk]. */
export function routeBackward(logits: Float32Array, r: Routing, dweights: Float32Array, config: RouterConfig): Float32Array {
  const fn = 'routeBackward';
  const T = dim(fn, 'config.tokens', config.tokens), E = dim(fn, 'config.experts', config.experts), K = dim(fn, 'config.topk', config.topk);
  finite(fn, 'config.scale', config.scale);
  array(fn, 'logits', logits, Float32Array, T * E, `tokens*experts = ${T}*${E}`);
  array(fn, 'routing.indices', r?.indices, Int32Array, T * K, `tokens*topk = ${T}*${K}`);
  array(fn, 'dweights', dweights, Float32Array, T * K, `tokens*topk = ${T}*${K}`);
  const out = new Float32Array(T * E);
  binding().routeBackward(logits, r.indices, dweights, T, E, K, config.scale, out);
  return out;
}

/** Builds the expert-contiguous order: expert by expert, tokens ascending within an expert. */
export function dispatchPlan(indices: Int32Array, tokens: number, topk: number, experts: number): DispatchPlan {
  const fn = 'dispatchPlan';
  const T = dim(fn, 'tokens', tokens), K = dim(fn, 'topk', topk), E = dim(fn, 'experts', experts);
  if (E < 1) throw new RangeError(`${fn}: experts must be >= 1`);
  array(fn, 'indices', indices, Int32Array, T * K, `tokens*topk = ${T}*${K}`);
  const p: DispatchPlan = { tokens: T, topk: K, experts: E, offsets: new Int32Array(E + 1), slotOfRow: new Int32Array(T * K), rowOfSlot: new Int32Array(T * K) };
  binding().dispatchPlan(indices, T, K, E, p.offsets, p.slotOfRow, p.rowOfSlot);
  return p;
}

function checkPlan(fn: string, p: unknown): DispatchPlan {
  const v = p as DispatchPlan;
  if (typeof p !== 'object' || p === null) throw new TypeError(`${fn}: plan must be a DispatchPlan from dispatchPlan()`);
  const T = dim(fn, 'plan.tokens', v.tokens), K = dim(fn, 'plan.topk', v.topk), E = dim(fn, 'plan.experts', v.experts);
  array(fn, 'plan.offsets', v.offsets, Int32Array, E + 1, `experts+1 = ${E + 1}`);
  array(fn, 'plan.slotOfRow', v.slotOfRow, Int32Array, T * K, `tokens*topk = ${T}*${K}`);
  array(fn, 'plan.rowOfSlot', v.rowOfSlot, Int32Array, T * K, `tokens*topk = ${T}*${K}`);
  return v;
}

type Rows = Float32Array | Uint16Array | Uint8Array;

/** Copies each token row of x [tokens, width] to its rows in expert order -> [tokens*topk, width] (into `out` if given). */
export function dispatch<X extends Rows>(x: X, width: number, plan: DispatchPlan, out?: X): X {
  const fn = 'dispatch';
  const p = checkPlan(fn, plan), D = dim(fn, 'width', width);
  if (!(x instanceof Float32Array || x instanceof Uint16Array || x instanceof Uint8Array)) {
    throw new TypeError(`${fn}: x must be a Float32Array, Uint16Array (bf16) or Uint8Array (fp8), got ${typeof x}`);
  }
  if (x.length !== p.tokens * D) throw new RangeError(`${fn}: x must have length tokens*width = ${p.tokens}*${D}, got ${x.length}`);
  const n = p.tokens * p.topk * D;
  if (out !== undefined && (out.constructor !== x.constructor || out.length !== n)) {
    throw new TypeError(`${fn}: out must be a ${x.constructor.name} of length tokens*topk*width = ${n}, got ${out.constructor.name}(${out.length})`);
  }
  const dst = out ?? new (x.constructor as new (k: number) => X)(n);
  binding().dispatchRows(x, p.tokens, D, p.slotOfRow, p.topk, dst);
  return dst;
}

/** Backward of dispatch: dx[t] = sum over t's rows of drows -> [tokens, width]. */
export function dispatchBackward(drows: Float32Array, width: number, plan: DispatchPlan): Float32Array {
  const fn = 'dispatchBackward';
  const p = checkPlan(fn, plan), D = dim(fn, 'width', width);
  array(fn, 'drows', drows, Float32Array, p.tokens * p.topk * D, `tokens*topk*width = ${p.tokens}*${p.topk}*${D}`);
  const dx = new Float32Array(p.tokens * D);
  binding().dispatchBackward(drows, p.rowOfSlot, p.tokens, p.topk, D, dx);
  return dx;
}

/**
 * y[t] = sum_j weights[t,j] * expertOut[row of (t,j)]; expertOut [tokens*topk, width] float32 or bfloat16
 * bits (the recipe combines in BF16) -> float32 [tokens, width] (into `out` if given).
 */
export function combine(expertOut: Float32Array | Uint16Array, weights: Float32Array, width: number, plan: DispatchPlan, out?: Float32Array): Float32Array {
  const fn = 'combine';
  const p = checkPlan(fn, plan), D = dim(fn, 'width', width);
  const n = p.tokens * p.topk * D, shape = `tokens*topk*width = ${p.tokens}*${p.topk}*${D}`;
  if (expertOut instanceof Uint16Array) array(fn, 'expertOut', expertOut, Uint16Array, n, shape);
  else array(fn, 'expertOut', expertOut, Float32Array, n, shape);
  array(fn, 'weights', weights, Float32Array, p.tokens * p.topk, `tokens*topk = ${p.tokens}*${p.topk}`);
  const y = out === undefined ? new Float32Array(p.tokens * D) : array(fn, 'out', out, Float32Array, p.tokens * D, `tokens*width = ${p.tokens}*${D}`);
  binding().combine(expertOut, weights, p.rowOfSlot, p.tokens, p.topk, D, y);
  return y;
}

/** Backward of combine: gradients for the expert outputs and for the routing weights. */
export function combineBackward(dy: Float32Array, expertOut: Float32Array, weights: Float32Array, width: number, plan: DispatchPlan): { dExpertOut: Float32Array; dWeights: Float32Array } {
  const fn = 'combineBackward';
  const p = checkPlan(fn, plan), D = dim(fn, 'width', width);
  array(fn, 'dy', dy, Float32Array, p.tokens * D, `tokens*width = ${p.tokens}*${D}`);
  array(fn, 'expertOut', expertOut, Float32Array, p.tokens * p.topk * D, `tokens*topk*width = ${p.tokens}*${p.topk}*${D}`);
  array(fn, 'weights', weights, Float32Array, p.tokens * p.topk, `tokens*topk = ${p.tokens}*${p.topk}`);
  const dExpertOut = new Float32Array(p.tokens * p.topk * D), dWeights = new Float32Array(p.tokens * p.topk);
  binding().combineBackward(dy, expertOut, weights, p.rowOfSlot, p.tokens, p.topk, D, dExpertOut, dWeights);
  return { dExpertOut, dWeights };
}
