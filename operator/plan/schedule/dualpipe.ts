// DualPipe (DeepSeek-V3 TR §3.2.1): the per-rank operation order of deepseek-ai/DualPipe `DualPipe.step`, as a pure
// generator. The 8 named steps and their repeat counts follow REFERENCE.md §4; dualpipev.ts reuses the same engine.
import type { ChunkRef, Dir, ScheduleOp } from './ops.js';

/** How one rank's two phases map onto directions and neighbours (differs between DualPipe and DualPipeV). */
export interface DualWiring {
  /** Direction of local phase 0/1. */
  dirOf(phase: 0 | 1): Dir;
  /** True when this rank runs the first stage of `dir` (it receives no forward input). */
  isFirstStage(dir: Dir): boolean;
  /** True when this rank runs the last stage of `dir` (it computes the loss, sends no forward output). */
  isLastStage(dir: Dir): boolean;
  /** Rank that feeds this rank's forward in `dir`, and the one it feeds. */
  prevPeer(dir: Dir): number;
  nextPeer(dir: Dir): number;
}

/** The step counts of the 8-step engine: H and h as in REFERENCE.md §4, chunks per direction. */
export interface DualShape {
  halfRanks: number;
  halfRank: number;
  chunksPerDir: number;
  /** The rank(s) where the two directions meet: no overlap in the first main-step pair. */
  isMiddle: boolean;
}

/** Runs the 8-step DualPipe procedure and returns the ops in the order the reference issues them. */
export function dualEngine(shape: DualShape, wire: DualWiring): ScheduleOp[] {
  const ops: ScheduleOp[] = [];
  const fId = [0, 0];
  const bId = [0, 0];
  const sendF = [0, 0];
  const sendB = [0, 0];
  const recvF = [0, 0];
  const recvB = [0, 0];
  const deferred: ChunkRef[] = [];

  const recvForward = (phase: 0 | 1): void => {
    const dir = wire.dirOf(phase);
    if (wire.isFirstStage(dir)) return;
    ops.push({ kind: 'recvF', dir, mb: recvF[dir]!++, peer: wire.prevPeer(dir) });
  };
  const sendForward = (phase: 0 | 1): void => {
    const dir = wire.dirOf(phase);
    if (wire.isLastStage(dir)) return;
    ops.push({ kind: 'sendF', dir, mb: sendF[dir]!++, peer: wire.nextPeer(dir) });
  };
  const recvBackward = (phase: 0 | 1): void => {
    const dir = wire.dirOf(phase);
    if (wire.isLastStage(dir)) return;
    ops.push({ kind: 'recvB', dir, mb: recvB[dir]!++, peer: wire.nextPeer(dir) });
  };
  const sendBackward = (phase: 0 | 1): void => {
    const dir = wire.dirOf(phase);
    if (wire.isFirstStage(dir)) return;
    ops.push({ kind: 'sendB', dir, mb: sendB[dir]!++, peer: wire.prevPeer(dir) });
  };
  const computeF = (phase: 0 | 1): void => {
    const dir = wire.dirOf(phase);
    ops.push({ kind: 'F', dir, mb: fId[dir]!++ });
  };
  const computeB = (phase: 0 | 1, zb: boolean): void => {
    const dir = wire.dirOf(phase);
    const mb = bId[dir]!++;
    ops.push({ kind: 'B', dir, mb, deferW: zb });
    if (zb) deferred.push({ dir, mb });
  };
  const forwardChunk = (phase: 0 | 1, recv = true, send = true): void => {
    if (recv) recvForward(phase);
    computeF(phase);
    if (send) sendForward(phase);
  };
  const backwardChunk = (phase: 0 | 1, zb = false, recv = true, send = true): void => {
    if (recv) recvBackward(phase);
    computeB(phase, zb);
    if (send) sendBackward(phase);
  };
  const forwardBackwardChunk = (p0: 0 | 1, p1: 0 | 1, recv0 = true): void => {
    if (recv0) recvForward(p0);
    recvBackward(p1);
    const fd = wire.dirOf(p0);
    const bd = wire.dirOf(p1);
    ops.push({ kind: 'FB', f: { dir: fd, mb: fId[fd]!++ }, b: { dir: bd, mb: bId[bd]!++ } });
    sendForward(p0);
    sendBackward(p1);
  };
  const weightChunk = (): void => {
    const w = deferred.shift();
    if (!w) throw new Error('dualpipe: W with no deferred backward (engine bug)');
    ops.push({ kind: 'W', dir: w.dir, mb: w.mb });
  };

  const { halfRanks: H, halfRank: h, chunksPerDir, isMiddle } = shape;

  // Step 1: F0 × 2(H−h−1)
  for (let i = 0; i < 2 * (H - h - 1); i++) forwardChunk(0);

  // Step 2: (F0, F1) × (h+1)
  const step2 = h + 1;
  recvForward(0);
  for (let i = 0; i < step2; i++) {
    forwardChunk(0, false, isMiddle);
    recvForward(0);
    forwardChunk(1, true, !isMiddle || i < step2 - 1);
    if (!isMiddle) sendForward(0);
  }

  // Step 3: (B1 deferred-W, W, F1) × (H−h−1)
  for (let i = 0; i < H - h - 1; i++) {
    backwardChunk(1, true);
    recvForward(1);
    weightChunk();
    forwardChunk(1, false);
  }

  // Step 4 (main): (F0&B1, F1&B0) × (C/2 − PP + h + 1); the middle ranks do not overlap their first pair.
  const step4 = chunksPerDir - 2 * H + h + 1;
  for (let i = 0; i < step4; i++) {
    if (i === 0) {
      if (isMiddle) {
        forwardChunk(0, false, false);
        sendForward(1);
        backwardChunk(1, false, true, false);
        sendForward(0);
        sendBackward(1);
      } else {
        forwardBackwardChunk(0, 1, false);
      }
    } else {
      forwardBackwardChunk(0, 1);
    }
    forwardBackwardChunk(1, 0);
  }

  // Step 5: (B1, F1&B0) × (H−h−1)
  for (let i = 0; i < H - h - 1; i++) {
    backwardChunk(1);
    forwardBackwardChunk(1, 0);
  }

  // Step 6: (B1, B0) × (h+1); weight gradients deferred from repeat (h+1)//2 on.
  const step6 = h + 1;
  let zb = false;
  for (let i = 0; i < step6; i++) {
    if (i === Math.floor(step6 / 2) && h % 2 === 1) zb = true;
    backwardChunk(1, zb);
    if (i === Math.floor(step6 / 2) && h % 2 === 0) zb = true;
    backwardChunk(0, zb);
  }

  // Step 7: (W, B0 deferred-W) × (H−h−1)
  for (let i = 0; i < H - h - 1; i++) {
    weightChunk();
    backwardChunk(0, true);
  }

  // Step 8: W × (h+1)
  for (let i = 0; i < h + 1; i++) weightChunk();
  if (deferred.length !== 0) throw new Error(`dualpipe: ${deferred.length} weight gradients left (engine bug)`);
  return ops;
}

/** Preconditions of DualPipe, as messages naming the argument (empty when valid). */
export function dualPipeErrors(ranks: number, microBatches: number): string[] {
  const errs: string[] = [];
  if (!Number.isInteger(ranks) || ranks < 2 || ranks % 2 !== 0) errs.push(`DualPipe needs an even number of ranks ≥ 2, got ranks=${ranks}`);
  if (!Number.isInteger(microBatches) || microBatches % 2 !== 0 || microBatches < 2 * ranks) {
    errs.push(`DualPipe needs an even number of micro-batches ≥ 2·ranks (${2 * ranks}), got microBatches=${microBatches}`);
  }
  return errs;
}

/**
 * DualPipe ops of one rank. `microBatches` is the total C; C/2 enter at rank 0 (dir 0) and C/2 at the last rank (dir 1).
 * Rank r runs stage r for dir 0 and stage ranks−1−r for dir 1.
 */
export function dualPipeSchedule(rank: number, ranks: number, microBatches: number): ScheduleOp[] {
  const errs = dualPipeErrors(ranks, microBatches);
  if (!Number.isInteger(rank) || rank < 0 || rank >= ranks) errs.push(`rank must be in [0, ${ranks}), got rank=${rank}`);
  if (errs.length) throw new Error(errs.join('; '));
  const H = ranks / 2;
  const secondHalf = rank >= H ? 1 : 0;
  const wire: DualWiring = {
    dirOf: (phase) => (phase ^ secondHalf) as Dir,
    isFirstStage: (dir) => (dir === 0 ? rank === 0 : rank === ranks - 1),
    isLastStage: (dir) => (dir === 0 ? rank === ranks - 1 : rank === 0),
    prevPeer: (dir) => (dir === 0 ? rank - 1 : rank + 1),
    nextPeer: (dir) => (dir === 0 ? rank + 1 : rank - 1),
  };
  const shape: DualShape = {
    halfRanks: H,
    halfRank: Math.min(rank, ranks - 1 - rank),
    chunksPerDir: microBatches / 2,
    isMiddle: rank === H - 1 || rank === H,
  };
  return dualEngine(shape, wire);
}

/** Pipeline stages held by rank r under DualPipe: r (dir 0) and ranks−1−r (dir 1). */
export function dualPipeStages(rank: number, ranks: number): [number, number] {
  return [rank, ranks - 1 - rank];
}
