// 1F1B (PipeDream-flush) and ZB1P (zero-bubble ZB-H1: 1F1B with the weight-gradient part of each backward deferred to
// fill the cool-down bubbles), in the same op vocabulary as the DualPipe generators, for comparison.
import type { ChunkRef, ScheduleOp } from './ops.js';

export function oneF1BErrors(ranks: number, microBatches: number): string[] {
  const errs: string[] = [];
  if (!Number.isInteger(ranks) || ranks < 1) errs.push(`1F1B needs ranks ≥ 1, got ranks=${ranks}`);
  if (!Number.isInteger(microBatches) || microBatches < ranks) {
    errs.push(`1F1B needs micro-batches ≥ ranks (${ranks}), got microBatches=${microBatches}`);
  }
  return errs;
}

function check(rank: number, ranks: number, microBatches: number): void {
  const errs = oneF1BErrors(ranks, microBatches);
  if (!Number.isInteger(rank) || rank < 0 || rank >= ranks) errs.push(`rank must be in [0, ${ranks}), got rank=${rank}`);
  if (errs.length) throw new Error(errs.join('; '));
}

/** 1F1B order of one rank's forwards (true) and backwards (false): warm-up forwards, steady pairs, cool-down. */
function mainOrder(rank: number, ranks: number, microBatches: number): boolean[] {
  const warmup = Math.min(ranks - 1 - rank, microBatches);
  const order: boolean[] = [];
  for (let i = 0; i < warmup; i++) order.push(true);
  for (let i = 0; i < microBatches - warmup; i++) order.push(true, false);
  for (let i = 0; i < warmup; i++) order.push(false);
  return order;
}

/** Emits one rank's ops: forwards/backwards in 1F1B order, and W's after the backwards listed in `wAfter`. */
function emit(rank: number, ranks: number, order: boolean[], zb: boolean, wAfter: number[]): ScheduleOp[] {
  const ops: ScheduleOp[] = [];
  const pending: ChunkRef[] = [];
  const first = rank === 0;
  const last = rank === ranks - 1;
  let f = 0;
  let b = 0;
  const weights = (count: number): void => {
    for (let i = 0; i < count; i++) {
      const w = pending.shift();
      if (w) ops.push({ kind: 'W', dir: w.dir, mb: w.mb });
    }
  };
  order.forEach((isF, i) => {
    if (isF) {
      if (!first) ops.push({ kind: 'recvF', dir: 0, mb: f, peer: rank - 1 });
      ops.push({ kind: 'F', dir: 0, mb: f });
      if (!last) ops.push({ kind: 'sendF', dir: 0, mb: f, peer: rank + 1 });
      f++;
    } else {
      if (!last) ops.push({ kind: 'recvB', dir: 0, mb: b, peer: rank + 1 });
      ops.push({ kind: 'B', dir: 0, mb: b, deferW: zb });
      if (!first) ops.push({ kind: 'sendB', dir: 0, mb: b, peer: rank - 1 });
      if (zb) pending.push({ dir: 0, mb: b });
      b++;
    }
    weights(wAfter[i] ?? 0);
  });
  weights(pending.length);
  return ops;
}

/**
 * Where ZB-H1 puts the deferred W's: list-schedules all ranks with unit times (F = B_input = W, the zero-bubble
 * paper's assumption) and runs a W whenever the next forward/backward's input has not arrived yet. Returns, per rank,
 * how many W's follow each op of mainOrder (the leftovers run at the end).
 */
function zbWeightSlots(ranks: number, microBatches: number): number[][] {
  const orders = Array.from({ length: ranks }, (_, r) => mainOrder(r, ranks, microBatches));
  const fDone: number[][] = Array.from({ length: ranks }, () => []);
  const bDone: number[][] = Array.from({ length: ranks }, () => []);
  const slots = orders.map((o) => new Array<number>(o.length).fill(0));
  const t = new Array<number>(ranks).fill(0);
  const pos = new Array<number>(ranks).fill(0);
  const fCount = new Array<number>(ranks).fill(0);
  const bCount = new Array<number>(ranks).fill(0);
  const pendingW = new Array<number>(ranks).fill(0);
  const readyAt = (r: number): number | undefined => {
    const isF = orders[r]![pos[r]!]!;
    if (isF) return r === 0 ? 0 : fDone[r - 1]![fCount[r]!];
    return r === ranks - 1 ? fDone[r]![bCount[r]!] : bDone[r + 1]![bCount[r]!];
  };
  for (;;) {
    let r = -1;
    for (let i = 0; i < ranks; i++) if (pos[i]! < orders[i]!.length && (r < 0 || t[i]! < t[r]!)) r = i;
    if (r < 0) break;
    const ready = readyAt(r);
    if (ready !== undefined && ready <= t[r]!) {
      const isF = orders[r]![pos[r]!]!;
      t[r]! += 1;
      if (isF) fDone[r]![fCount[r]!++] = t[r]!;
      else {
        bDone[r]![bCount[r]!++] = t[r]!;
        pendingW[r]!++;
      }
      pos[r]!++;
    } else if (pendingW[r]! > 0 && pos[r]! > 0) {
      t[r]! += 1;
      pendingW[r]!--;
      slots[r]![pos[r]! - 1]!++;
    } else {
      // Idle until the input arrives, or until the next event elsewhere when its producer has not run yet.
      let next = ready ?? Infinity;
      if (ready === undefined) for (let i = 0; i < ranks; i++) if (i !== r && t[i]! > t[r]!) next = Math.min(next, t[i]!);
      t[r] = next === Infinity ? t[r]! + 1 : next;
    }
  }
  return slots;
}

export function oneF1BSchedule(rank: number, ranks: number, microBatches: number): ScheduleOp[] {
  check(rank, ranks, microBatches);
  return emit(rank, ranks, mainOrder(rank, ranks, microBatches), false, []);
}

export function zb1pSchedule(rank: number, ranks: number, microBatches: number): ScheduleOp[] {
  check(rank, ranks, microBatches);
  const slots = zbWeightSlots(ranks, microBatches)[rank]!;
  return emit(rank, ranks, mainOrder(rank, ranks, microBatches), true, slots);
}
