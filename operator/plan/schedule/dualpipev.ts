// DualPipeV ("cut in half" DualPipe): the per-rank order of deepseek-ai/DualPipe `DualPipeV.step`. PP ranks hold 2·PP
// stages: rank r runs stage r on the way down (dir 0) and stage 2PP−1−r on the way back (dir 1); the last rank turns
// micro-batches around locally. Same 8-step engine as DualPipe with H = PP, h = r and C micro-batches per direction.
import { dualEngine, type DualWiring } from './dualpipe.js';
import type { Dir, ScheduleOp } from './ops.js';

export function dualPipeVErrors(ranks: number, microBatches: number): string[] {
  const errs: string[] = [];
  if (!Number.isInteger(ranks) || ranks < 1) errs.push(`DualPipeV needs ranks ≥ 1, got ranks=${ranks}`);
  if (!Number.isInteger(microBatches) || microBatches < 2 * ranks) {
    errs.push(`DualPipeV needs micro-batches ≥ 2·ranks (${2 * ranks}), got microBatches=${microBatches}`);
  }
  return errs;
}

export function dualPipeVSchedule(rank: number, ranks: number, microBatches: number): ScheduleOp[] {
  const errs = dualPipeVErrors(ranks, microBatches);
  if (!Number.isInteger(rank) || rank < 0 || rank >= ranks) errs.push(`rank must be in [0, ${ranks}), got rank=${rank}`);
  if (errs.length) throw new Error(errs.join('; '));
  const last = ranks - 1;
  const wire: DualWiring = {
    dirOf: (phase) => phase as Dir,
    isFirstStage: (dir) => dir === 0 && rank === 0,
    isLastStage: (dir) => dir === 1 && rank === 0,
    // The turn-around on the last rank is local: it neither sends dir-0 outputs nor receives dir-1 inputs.
    prevPeer: (dir) => (dir === 0 ? rank - 1 : rank + 1),
    nextPeer: (dir) => (dir === 0 ? rank + 1 : rank - 1),
  };
  const turn: DualWiring = {
    ...wire,
    isFirstStage: (dir) => wire.isFirstStage(dir) || (dir === 1 && rank === last),
    isLastStage: (dir) => wire.isLastStage(dir) || (dir === 0 && rank === last),
  };
  return dualEngine({ halfRanks: ranks, halfRank: rank, chunksPerDir: microBatches, isMiddle: rank === last }, turn);
}

/** Stages held by rank r under DualPipeV: r and 2·ranks−1−r. */
export function dualPipeVStages(rank: number, ranks: number): [number, number] {
  return [rank, 2 * ranks - 1 - rank];
}
