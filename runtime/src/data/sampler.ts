// Deterministic batches over one token stream: windows of W tokens starting every S tokens, visited in a fresh
// seeded permutation each epoch. The position (epoch, index) is all a checkpoint needs for an exact resume.
import { Rng } from '../model/rng.js';
import type { TokenBatch } from '../model/token-batch.js';

export interface DataPosition {
  epoch: number;
  index: number;
}

/** Where a trainer's batches come from: the text sampler here, or SFT's chat batches (chat-batches.ts). */
export interface BatchSource {
  /** The data position a checkpoint saves; setting it resumes there. */
  pos: DataPosition;
  /** The next B windows (with their segments and objective, if any); advances the position. */
  nextBatch(B: number): TokenBatch;
}

export class Sampler implements BatchSource {
  readonly windows: number;
  private perm: Uint32Array;
  private permEpoch = -1;
  pos: DataPosition = { epoch: 0, index: 0 };

  constructor(readonly tokens: Int32Array, readonly S: number, readonly W: number, readonly seed: number) {
    if (tokens.length < W) throw new Error(`data: the corpus has ${tokens.length} tokens, fewer than one window of ${W} (sequence length + 1 + MTP depth); use more text or a shorter --seq-len`);
    this.windows = Math.floor((tokens.length - W) / S) + 1;
    this.perm = new Uint32Array(this.windows);
  }

  private permutation(epoch: number): Uint32Array {
    if (this.permEpoch !== epoch) {
      const rng = new Rng((this.seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0);
      for (let i = 0; i < this.windows; i++) this.perm[i] = i;
      for (let i = this.windows - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = this.perm[i];
        this.perm[i] = this.perm[j];
        this.perm[j] = t;
      }
      this.permEpoch = epoch;
    }
    return this.perm;
  }

  nextBatch(B: number): TokenBatch {
    return { tokens: this.next(B) };
  }

  /** B windows, row-major [B, W]; advances the position. */
  next(B: number): Int32Array {
    const out = new Int32Array(B * this.W);
    for (let b = 0; b < B; b++) {
      if (this.pos.index >= this.windows) this.pos = { epoch: this.pos.epoch + 1, index: 0 };
      const start = this.permutation(this.pos.epoch)[this.pos.index] * this.S;
      out.set(this.tokens.subarray(start, start + this.W), b * this.W);
      this.pos = { epoch: this.pos.epoch, index: this.pos.index + 1 };
    }
    return out;
  }
}
