// Expert-parallel DeepSeekMoE layer (I/O code around the model's router and SwiGLU experts). Routed experts are
// placed on the EP ranks as the plan says (`experts[q]`: the experts EP rank q hosts, from the planner's
// expertsByEpRank); each rank routes its own tokens, dispatches every (token, slot) row to the expert's host with
// alltoallv — FP8 E4M3 codes plus one float32 scale per 1×128 tile, as the recipe — the host runs its experts, and
// the outputs come back in BF16 (combine). Backward sends the weighted output gradients to the hosts and the input
// gradients back, in BF16 under the low-precision recipes (`backward`, float32 in fp32 runs), over `back`: a second
// communicator of the same ranks, so that a forward and a backward running interleaved (DualPipe's paired chunks,
// pp-trainer.ts) each keep one order of collectives on their own group. The shared expert and the gate run locally. Rows travel grouped by host, then expert
// (in the host's order), then token, so an expert sees its rows in global token order.
import type { RuntimeModelConfig } from '../model/config.js';
import { ffn } from '../model/ffn.js';
import { bf16ToF32, f32ToBf16 } from '../native/codec.js';
import { dequantizeActivations, quantizeActivations } from '../native/quant.js';
import type { Ctx } from '../model/gemm.js';
import type { MlpFwd } from '../model/mlp-hook.js';
import { moeGate, sharedExperts } from '../model/moe.js';
import { groupedExperts, groupedExpertsApply } from '../model/moe-grouped.js';
import type { Fwd } from '../model/norm.js';
import type { Params } from '../model/params.js';
import type { Vec } from '../model/tensor.js';
import type { ProcessGroup } from '../comm/process-group.js';
import { decodeWire, encodeWire, wireBuffer, type WireFormat } from '../comm/wire.js';

export interface EpOptions {
  /** 'fp8': E4M3 + 1×128 scales (the recipe); 'fp32': exact, for checking the plumbing. */
  dispatch: 'fp8' | 'fp32';
  /** 'bf16' (the recipe) or 'fp32'. */
  combine: 'bf16' | 'fp32';
  /** Backward all-to-all (output gradients to the hosts, input gradients back): 'bf16' (recipe) or 'fp32' (default). */
  backward?: WireFormat;
}

/** FP8 codes and per-1×128-tile scales of `rows` rows of width d (the native quantiser: scale = max(amax, 1e-4)/448,
 * codes of x/scale rounded in float32; per-element JavaScript here cost ~15% of a rank's step). Throws on NaN/inf. */
export function quantRows(x: Float32Array, rows: number, d: number): { q: Uint8Array; s: Float32Array } {
  const a = quantizeActivations(x, rows, d);
  return { q: a.q, s: a.scales };
}

export function dequantRows(q: Uint8Array, s: Float32Array, rows: number, d: number): Float32Array {
  return dequantizeActivations({ q, scales: s, rows, cols: d });
}

/** Moves rows of width `width` elements of `view`'s type: sendRows[q] rows to rank q, recvRows[q] from q. */
async function exchange<T extends Float32Array | Uint16Array | Uint8Array>(g: ProcessGroup, input: T, sendRows: number[],
  recvRows: number[], width: number, make: (n: number) => T): Promise<T> {
  const el = input.BYTES_PER_ELEMENT;
  const out = make(recvRows.reduce((a, b) => a + b, 0) * width);
  await g.alltoallv(input, sendRows.map((n) => n * width * el), out, recvRows.map((n) => n * width * el));
  return out;
}

/** Checks that `experts` places each of E experts on exactly one of n EP ranks. */
export function checkPlacement(experts: number[][], E: number, n: number): void {
  if (experts.length !== n) throw new Error(`expert parallelism: the placement lists ${experts.length} EP ranks, the group has ${n}`);
  const seen = new Int32Array(E);
  for (const list of experts) {
    for (const e of list) {
      if (!(Number.isInteger(e) && e >= 0 && e < E)) throw new Error(`expert parallelism: expert ${e} is outside 0..${E - 1}`);
      seen[e]++;
    }
  }
  const bad = seen.findIndex((k) => k !== 1);
  if (bad >= 0) throw new Error(`expert parallelism: expert ${bad} is placed on ${seen[bad]} EP ranks, expected exactly 1`);
}

/** `back`: the group the backward's all-to-alls use (default `ep`): the same ranks in the same order. */
export function expertParallelBlockMoe(ep: ProcessGroup, o: EpOptions, experts: number[][], back: ProcessGroup = ep) {
  if (back.size !== ep.size || back.rank !== ep.rank) throw new Error(`expert parallelism: backward group ${back.name} does not match ${ep.name}`);
  const wire: WireFormat = o.backward ?? 'fp32';
  return async function moeEp(ctx: Ctx, P: Params, prefix: string, c: RuntimeModelConfig, x: Vec, T: number, S: number,
    alpha: number): Promise<MlpFwd<Promise<Vec>>> {
    const d = c.hidden_size, E = c.n_routed_experts, K = c.num_experts_per_tok, n = ep.size;
    checkPlacement(experts, E, n);
    if (!(x instanceof Float32Array)) throw new Error('expert parallelism needs float32 activations');
    const mine = experts[ep.rank]!;
    // The model's gate and shared expert (model/moe.ts); only the routed experts travel.
    const gating = moeGate(ctx, P, prefix, c, x, T, S, alpha);
    const r = gating.r;

    // Local rows: by host, then expert in the host's order, then token.
    const slotOf = new Int32Array(T * K);
    let m = 0;
    for (const list of experts) {
      for (const e of list) for (let t = 0; t < T; t++) for (let k = 0; k < K; k++) if (r.idx[t * K + k] === e) slotOf[m++] = t * K + k;
    }
    const sendRows = experts.map((list) => list.reduce((s, e) => s + r.counts[e]!, 0));
    const allCounts = new Int32Array(n * E);
    await ep.allgather(r.counts, allCounts);
    const recvRows = Array.from({ length: n }, (_, q) => mine.reduce((s, e) => s + allCounts[q * E + e]!, 0));
    const xs = new Float32Array(T * K * d);
    for (let i = 0; i < T * K; i++) {
      const t = Math.floor(slotOf[i] / K);
      xs.set(x.subarray(t * d, t * d + d), i * d);
    }
    // Dispatch.
    let xr: Float32Array;
    if (o.dispatch === 'fp8') {
      const tiles = Math.ceil(d / 128);
      const { q, s } = quantRows(xs, T * K, d);
      const qr = await exchange(ep, q, sendRows, recvRows, d, (k) => new Uint8Array(k));
      const sr = await exchange(ep, s, sendRows, recvRows, tiles, (k) => new Float32Array(k));
      xr = dequantRows(qr, sr, qr.length / d, d);
    } else {
      xr = await exchange(ep, xs, sendRows, recvRows, d, (k) => new Float32Array(k));
    }
    // Received rows: source-major, then expert, then token. Each local expert gathers its rows from every source.
    const R = xr.length / d;
    const rowStart = (q: number, i: number): number => {
      let off = 0;
      for (let p = 0; p < q; p++) off += recvRows[p];
      for (let j = 0; j < i; j++) off += allCounts[q * E + mine[j]!];
      return off;
    };
    const ran: { rows: Int32Array; fwd: Fwd }[] = [];
    const outR = new Float32Array(R * d);
    const rowsOf = mine.map((e, i) => {
      const rows: number[] = [];
      for (let q = 0; q < n; q++) {
        const s0 = rowStart(q, i);
        for (let j = 0; j < allCounts[q * E + e]; j++) rows.push(s0 + j);
      }
      return rows;
    });
    // FP8: this rank's experts through the grouped GEMM (model/moe-grouped.ts), their rows gathered expert-major.
    let grouped: { order: Int32Array; g: ReturnType<typeof groupedExperts> } | undefined;
    if (groupedExpertsApply(ctx, c) && mine.length > 0) {
      const off = new Int32Array(mine.length + 1);
      rowsOf.forEach((rows, i) => (off[i + 1] = off[i] + rows.length));
      const order = Int32Array.from(rowsOf.flat());
      const xs = new Float32Array(order.length * d);
      order.forEach((row, i) => xs.set(xr.subarray(row * d, row * d + d), i * d));
      const g = groupedExperts(ctx, P, prefix, c, xs, off, mine);
      order.forEach((row, i) => outR.set(g.y.subarray(i * d, i * d + d), row * d));
      grouped = { order, g };
    }
    for (let i = 0; i < (grouped ? 0 : mine.length); i++) {
      const e = mine[i]!, rows = rowsOf[i]!;
      if (rows.length === 0) continue;
      const xe = ctx.alloc(rows.length * d);
      rows.forEach((row, i) => xe.set(xr.subarray(row * d, row * d + d), i * d));
      const fwd = ffn(ctx, P, `${prefix}.experts.${e}`, xe, rows.length);
      rows.forEach((row, i) => outR.set(fwd.y.subarray(i * d, i * d + d), row * d));
      ran.push({ rows: Int32Array.from(rows), fwd });
    }
    // Combine.
    let outL: Float32Array;
    if (o.combine === 'bf16') {
      const back = await exchange(ep, f32ToBf16(outR), recvRows, sendRows, d, (k) => new Uint16Array(k));
      outL = bf16ToF32(back);
    } else {
      outL = await exchange(ep, outR, recvRows, sendRows, d, (k) => new Float32Array(k));
    }
    const y = ctx.alloc(T * d);
    for (let i = 0; i < T * K; i++) {
      const s = slotOf[i], t = Math.floor(s / K), w = r.weight[s];
      for (let j = 0; j < d; j++) y[t * d + j] += w * outL[i * d + j];
    }
    const shared = sharedExperts(ctx, P, prefix, c, x, T);
    if (shared) for (let i = 0; i < y.length; i++) y[i] += shared.y[i];

    return {
      y, counts: r.counts, balance: gating.balance,
      async back(dy) {
        const dx = shared ? shared.back(dy) : ctx.alloc(T * d);
        const dWeight = new Float64Array(T * K);
        const dyeL = new Float32Array(T * K * d);
        for (let i = 0; i < T * K; i++) {
          const s = slotOf[i], t = Math.floor(s / K), w = r.weight[s];
          let dot = 0;
          for (let j = 0; j < d; j++) {
            const g = dy[t * d + j];
            dyeL[i * d + j] = w * g;
            dot += g * outL[i * d + j];
          }
          dWeight[s] = dot;
        }
        const dyeR = decodeWire(await exchange(back, encodeWire(dyeL, wire), sendRows, recvRows, d, (k) => wireBuffer(k, wire)));
        const dxR = new Float32Array(R * d);
        if (grouped) {
          const { order, g } = grouped;
          const dye = new Float32Array(order.length * d);
          order.forEach((row, i) => dye.set(dyeR.subarray(row * d, row * d + d), i * d));
          const dxs = g.back(dye);
          order.forEach((row, i) => dxR.set(dxs.subarray(i * d, i * d + d), row * d));
        }
        for (const { rows, fwd } of ran) {
          const dye = ctx.alloc(rows.length * d);
          rows.forEach((row, i) => dye.set(dyeR.subarray(row * d, row * d + d), i * d));
          const dxe = fwd.back(dye);
          rows.forEach((row, i) => dxR.set(dxe.subarray(i * d, i * d + d), row * d));
        }
        const dxL = decodeWire(await exchange(back, encodeWire(dxR, wire), recvRows, sendRows, d, (k) => wireBuffer(k, wire)));
        for (let i = 0; i < T * K; i++) {
          const t = Math.floor(slotOf[i] / K);
          for (let j = 0; j < d; j++) dx[t * d + j] += dxL[i * d + j];
        }
        gating.back(dWeight, dx);
        return dx;
      },
    };
  };
}
