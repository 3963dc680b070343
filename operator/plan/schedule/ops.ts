// Operations of a pipeline schedule, shared by the generators (dualpipe.ts, dualpipev.ts, onef1b.ts), the validator
// and the simulator.
//
// Semantics of a per-rank op list (it mirrors deepseek-ai/DualPipe's lazy communication):
// - `send*`/`recv*` ops are only queued; every compute op (F, B, W, FB) and the end of the list first posts the
//   queued ops together (like torch.distributed.batch_isend_irecv) and waits for all of them.
// - `dir` is the pipeline direction: 0 = micro-batches entering at rank 0; 1 = entering at the last rank (DualPipe)
//   or the second, returning pass (DualPipeV). 1F1B/ZB1P use dir 0 only.
// - `mb` numbers the micro-batches of one direction 0, 1, 2, … in the order they enter.
export type Dir = 0 | 1;

export interface ChunkRef {
  dir: Dir;
  mb: number;
}

export type ScheduleOp =
  | { kind: 'F'; dir: Dir; mb: number }
  /** Backward; `deferW` true means the weight-gradient part is queued for a later W (zero-bubble). */
  | { kind: 'B'; dir: Dir; mb: number; deferW: boolean }
  /** Runs the oldest deferred weight-gradient computation (FIFO); dir/mb name the backward it belongs to. */
  | { kind: 'W'; dir: Dir; mb: number }
  /** Forward of `f` overlapped with the (full) backward of `b`. */
  | { kind: 'FB'; f: ChunkRef; b: ChunkRef }
  | { kind: 'sendF' | 'recvF' | 'sendB' | 'recvB'; dir: Dir; mb: number; peer: number };

export type ScheduleName = 'DualPipe' | 'DualPipeV' | '1F1B' | 'ZB1P';

export interface ScheduleSpec {
  name: ScheduleName;
  /** Pipeline ranks (devices). */
  ranks: number;
  /** Micro-batches per step in total (DualPipe: half enter from each end). */
  microBatches: number;
}

export function isCompute(op: ScheduleOp): boolean {
  return op.kind === 'F' || op.kind === 'B' || op.kind === 'W' || op.kind === 'FB';
}

/** Short text form used in pictures and test expectations: F0.3, B1.2w (W deferred), W1.2, F0.3+B1.1, >F0.3@2. */
export function opText(op: ScheduleOp): string {
  switch (op.kind) {
    case 'F':
      return `F${op.dir}.${op.mb}`;
    case 'B':
      return `B${op.dir}.${op.mb}${op.deferW ? 'w' : ''}`;
    case 'W':
      return `W${op.dir}.${op.mb}`;
    case 'FB':
      return `F${op.f.dir}.${op.f.mb}+B${op.b.dir}.${op.b.mb}`;
    default: {
      const arrow = op.kind.startsWith('send') ? '>' : '<';
      return `${arrow}${op.kind.slice(4)}${op.dir}.${op.mb}@${op.peer}`;
    }
  }
}

/** Compute ops only, as text: the order a reader compares with the reference. */
export function computeOrder(ops: readonly ScheduleOp[]): string[] {
  return ops.filter(isCompute).map(opText);
}
