// The route each micro-batch takes through the ranks under each schedule: the validator and the simulator derive data
// dependencies from it. A flow is a sequence of hops (rank, dir); consecutive hops on different ranks communicate,
// hops on the same rank (DualPipeV's turn-around) hand over locally.
import type { Dir, ScheduleName } from './ops.js';

export interface Hop {
  rank: number;
  dir: Dir;
}

export interface Flow {
  hops: Hop[];
  microBatches: number;
}

export function scheduleFlows(name: ScheduleName, ranks: number, microBatches: number): Flow[] {
  const down: Hop[] = Array.from({ length: ranks }, (_, r) => ({ rank: r, dir: 0 as Dir }));
  const up: Hop[] = Array.from({ length: ranks }, (_, i) => ({ rank: ranks - 1 - i, dir: 1 as Dir }));
  switch (name) {
    case 'DualPipe':
      return [
        { hops: down, microBatches: microBatches / 2 },
        { hops: up, microBatches: microBatches / 2 },
      ];
    case 'DualPipeV':
      return [{ hops: [...down, ...up], microBatches }];
    case '1F1B':
    case 'ZB1P':
      return [{ hops: down, microBatches }];
  }
}
