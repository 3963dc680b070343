// One entry point over the four schedule generators.
import { dualPipeErrors, dualPipeSchedule } from './dualpipe.js';
import { dualPipeVErrors, dualPipeVSchedule } from './dualpipev.js';
import { oneF1BErrors, oneF1BSchedule, zb1pSchedule } from './onef1b.js';
import type { ScheduleName, ScheduleOp } from './ops.js';

export function scheduleErrors(name: ScheduleName, ranks: number, microBatches: number): string[] {
  switch (name) {
    case 'DualPipe':
      return dualPipeErrors(ranks, microBatches);
    case 'DualPipeV':
      return dualPipeVErrors(ranks, microBatches);
    case '1F1B':
    case 'ZB1P':
      return oneF1BErrors(ranks, microBatches).map((m) => (name === 'ZB1P' ? m.replace('1F1B', 'ZB1P') : m));
  }
}

export function rankSchedule(name: ScheduleName, rank: number, ranks: number, microBatches: number): ScheduleOp[] {
  switch (name) {
    case 'DualPipe':
      return dualPipeSchedule(rank, ranks, microBatches);
    case 'DualPipeV':
      return dualPipeVSchedule(rank, ranks, microBatches);
    case '1F1B':
      return oneF1BSchedule(rank, ranks, microBatches);
    case 'ZB1P':
      return zb1pSchedule(rank, ranks, microBatches);
  }
}

/** Ops of every rank, index = rank. */
export function fullSchedule(name: ScheduleName, ranks: number, microBatches: number): ScheduleOp[][] {
  return Array.from({ length: ranks }, (_, r) => rankSchedule(name, r, ranks, microBatches));
}
