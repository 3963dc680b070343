// One training step's state on a pipeline rank (pure: maps and sums, no I/O). PipelineTrainer.trainStep makes a fresh
// one per step; the op handlers of pp-executor.ts read and write it: activations and gradients in flight, the
// forwards waiting for their backward, the queued and posted messages, the loss parts and expert loads, and the
// counters of the overlap report.
import type { Vec } from '../model/tensor.js';
import type { TokenObjective } from '../model/loss.js';
import type { StageFwd, StageOptions } from './stage.js';

/** This DP replica's tokens for the step and the shape of one micro-batch. */
export interface StepBatch {
  /** `microBatches × rows` windows of `window` tokens. */
  tokens: Int32Array;
  /** Their segment ids and per-token objective (model/token-batch.ts), cut per micro-batch by the executor. */
  segments?: Int32Array;
  objective?: TokenObjective;
  /** Sequences per micro-batch. */
  rows: number;
  /** Tokens per window: seqLen + 1 + MTP depth. */
  window: number;
  seqLen: number;
  stage: StageOptions;
  /** Values in one pipeline message (rows × seqLen × hidden). */
  messageValues: number;
}

/** Where the last step's pipeline phase (the op list, before the optimizer step) spent its time, ms. */
export interface PipelineTiming {
  pipelineMs: number;
  /** Some communication in flight (union over groups and operations). */
  commMs: number;
  /** The event loop idle: communication that no compute hid. */
  exposedMs: number;
  /** W ops that ran deferred weight-gradient GEMMs (0 when sequential). */
  deferredW: number;
  /** FB pairs where one chunk ended while the other had expert all-to-alls issued and was not done (0 sequential). */
  interleavedPairs: number;
}

/** Loss parts this rank's forwards added (each already weighted by 1/C). */
export interface LossSums {
  loss: number;
  mainLoss: number;
  mtpLoss: number;
  balance: number;
}

export class PipelineStepState {
  /** Forwards waiting for their backward, by chunk key (pp-ops.ts chunkKey). */
  readonly fwds = new Map<string, StageFwd>();
  /** Activations received for a stage's input; settle when the receive completes. */
  readonly inputs = new Map<string, Promise<Vec>>();
  /** Activations a stage produced: sent on, or read by the next stage on this rank. */
  readonly outputs = new Map<string, Vec>();
  /** Gradients received on a stage's output. */
  readonly gradsOut = new Map<string, Promise<Vec>>();
  /** Gradients a backward produced on its stage's input: sent back, or read by the previous stage on this rank. */
  readonly gradsIn = new Map<string, Vec>();
  /** Sends and receives the op list queued, posted together at the next compute op. */
  queued: Array<() => Promise<void>> = [];
  /** Every posted send, awaited at the end of the op list. */
  readonly sends: Promise<void>[] = [];
  /** Send ops (by index) an FB pair posted itself in overlap mode: skipped when the list reaches them. */
  readonly postedEarly = new Set<number>();
  readonly losses: LossSums = { loss: 0, mainLoss: 0, mtpLoss: 0, balance: 0 };
  /** Expert loads of the forwards, summed per MoE layer key. */
  readonly counts = new Map<string, Int32Array>();
  /** For the overlap report (PipelineTiming). */
  interleavedPairs = 0;
  deferredW = 0;

  /** `overlap`: the mode of this step (PipelineTrainer.overlap when the step starts). */
  constructor(readonly batch: StepBatch, readonly overlap: boolean) {}

  /** A forward's loss parts and expert loads, added in the order the forwards end. */
  addForward(f: StageFwd): void {
    this.losses.loss += f.loss; this.losses.mainLoss += f.mainLoss; this.losses.mtpLoss += f.mtpLoss; this.losses.balance += f.balance;
    for (const [k, c] of f.counts) {
      const acc = this.counts.get(k);
      if (acc) for (let e = 0; e < c.length; e++) acc[e] += c[e];
      else this.counts.set(k, Int32Array.from(c));
    }
  }

  /** What a send of activations (F) or of a gradient (B) carries for chunk `key`: what its forward or backward made. */
  sendBuffer(kind: 'F' | 'B', key: string): Vec | undefined {
    return (kind === 'F' ? this.outputs : this.gradsIn).get(key);
  }

  /** Files a pending receive of activations (F: a stage's input) or of a gradient (B: on a stage's output). */
  receiving(kind: 'F' | 'B', key: string, value: Promise<Vec>): void {
    (kind === 'F' ? this.inputs : this.gradsOut).set(key, value);
  }
}
