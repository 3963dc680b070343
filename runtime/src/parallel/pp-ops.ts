// Where the ops of a rank's pipeline op list point (pure): the model stage and step micro-batch of a chunk, the Gloo
// tag of a pipeline message, which buffer a send reads, a receive fills and a forward or backward reads, and which
// sends an FB pair posts itself in overlap mode. pp-executor.ts does the I/O with these answers.
import { isCompute, type ChunkRef, type Dir, type ScheduleName, type ScheduleOp } from '../../../operator/plan/schedule/ops.js';

/** Model stages of a schedule over `ranks` pipeline ranks. */
export function stageCount(name: ScheduleName, ranks: number): number {
  return name === 'DualPipeV' ? 2 * ranks : ranks;
}

/** The stage that `rank` runs for direction `dir`. */
export function stageOf(name: ScheduleName, rank: number, ranks: number, dir: Dir): number {
  if (dir === 0) return rank;
  if (name === 'DualPipe') return ranks - 1 - rank;
  if (name === 'DualPipeV') return 2 * ranks - 1 - rank;
  throw new Error(`${name} has one direction only`);
}

/** Index of micro-batch `mb` of direction `dir` in the step's batch (DualPipe: the second half enters from the end). */
export function globalMicroBatch(name: ScheduleName, dir: Dir, mb: number, microBatches: number): number {
  return name === 'DualPipe' && dir === 1 ? microBatches / 2 + mb : mb;
}

/** Gloo tag of a pipeline message: activations (F) or gradients (B), by direction, and the direction's micro-batch. */
export function tagOf(kind: 'F' | 'B', dir: Dir, mb: number): number {
  return ((kind === 'F' ? 0 : 2) + dir) * 0x100000 + mb;
}

/** One rank's seat in the pipeline: enough to place every op of its list. */
export interface PipeSeat {
  schedule: ScheduleName;
  /** Pipeline rank and pipeline ranks. */
  rank: number;
  ranks: number;
  /** Micro-batches per step of each DP replica. */
  microBatches: number;
}

/** A chunk of the op list placed in the model: its stage, its micro-batch in the step's batch, and their map key. */
export interface Chunk {
  stage: number;
  mb: number;
  key: string;
}

export function chunkKey(stage: number, mb: number): string {
  return `${stage}/${mb}`;
}

export function chunkAt(seat: PipeSeat, c: ChunkRef): Chunk {
  const stage = stageOf(seat.schedule, seat.rank, seat.ranks, c.dir);
  const mb = globalMicroBatch(seat.schedule, c.dir, c.mb, seat.microBatches);
  return { stage, mb, key: chunkKey(stage, mb) };
}

/**
 * A value a chunk reads: received from the neighbour rank under `received`, or produced on this rank under `local`
 * (where one rank runs both neighbouring stages: DualPipeV's turn).
 */
export interface Source {
  received: string;
  local: string;
}

/** The activations a forward reads; none on stage 0 (it embeds its tokens). */
export function forwardInput(c: Chunk): Source | undefined {
  return c.stage === 0 ? undefined : { received: c.key, local: chunkKey(c.stage - 1, c.mb) };
}

/** The gradient on its output that a backward reads; none on the last stage (it starts from its loss). */
export function outputGradient(c: Chunk, stages: number): Source | undefined {
  return c.stage === stages - 1 ? undefined : { received: c.key, local: chunkKey(c.stage + 1, c.mb) };
}

/** A send or receive between pipeline ranks. */
export type MessageOp = Extract<ScheduleOp, { peer: number }>;

/** What a pipeline message carries: a forward's output activations (F) or a backward's input gradient (B). */
export function messageKind(op: MessageOp): 'F' | 'B' {
  return op.kind === 'sendF' || op.kind === 'recvF' ? 'F' : 'B';
}

/**
 * For each FB op (by index): the sends of its forward's activations (`f`) and of its backward's gradient (`b`) listed
 * after it and before the next compute op. Overlap mode posts them as soon as that chunk is done, not at the next
 * compute op.
 */
export function pairSends(ops: readonly ScheduleOp[]): Map<number, { f: number[]; b: number[] }> {
  const out = new Map<number, { f: number[]; b: number[] }>();
  ops.forEach((op, i) => {
    if (op.kind !== 'FB') return;
    const f: number[] = [], b: number[] = [];
    for (let j = i + 1; j < ops.length && !isCompute(ops[j]!); j++) {
      const o = ops[j]!;
      if (o.kind === 'sendF' && o.dir === op.f.dir && o.mb === op.f.mb) f.push(j);
      if (o.kind === 'sendB' && o.dir === op.b.dir && o.mb === op.b.mb) b.push(j);
    }
    out.set(i, { f, b });
  });
  return out;
}
