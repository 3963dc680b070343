// SFT's batches (a BatchSource, sampler.ts): encoded conversations (chat-data.ts) laid into windows of
// W = S+1+D tokens, with segment ids so attention stays inside a conversation, and a masked cross-entropy
// (model/loss.ts weightedCrossEntropy) over the batch's assistant tokens. Pure.
//
// - A conversation of n tokens needs n ≤ S+1 (its last token must be a target of the window's S inputs); a longer one
//   is refused with its file:line and the limit, never truncated.
// - Packing (training.sft.packing, default on): each epoch visits the conversations in a fresh seeded order and fills
//   windows greedily in that order (a conversation that does not fit closes the window). Without packing: one
//   conversation per window. Unused positions are padding (token 0, segment −1, no loss).
// - Main-head target of position i is token i+1, MTP module k's is token i+k+2; either counts when it is a loss token
//   of the same conversation as position i. Weights are 1/count over the batch (per head), so the loss is the mean
//   over the batch's assistant tokens.
// - The data position is (epoch, window index within the epoch), as the text sampler's, so a checkpoint resumes exactly.
import { weightedCrossEntropy } from '../model/loss.js';
import { Rng } from '../model/rng.js';
import type { TokenBatch } from '../model/token-batch.js';
import type { EncodedSample } from './chat-data.js';
import type { BatchSource, DataPosition } from './sampler.js';

export interface ChatLayout {
  /** Sequence length S (training.sequenceLength). */
  seqLen: number;
  /** MTP depth D: a window holds S+1+D tokens. */
  mtpDepth: number;
  packing: boolean;
}

/** Refuses a conversation longer than S+1 tokens, naming it and the limit. */
export function checkLengths(samples: readonly EncodedSample[], seqLen: number): void {
  for (const s of samples) {
    if (s.ids.length > seqLen + 1) {
      throw new Error(`${s.where}: the conversation is ${s.ids.length} tokens, longer than the limit of ${seqLen + 1} (training.sequenceLength ${seqLen} + 1: a window's inputs and its last target); raise training.sequenceLength or shorten the conversation`);
    }
  }
}

/** Windows as lists of sample indices, visiting `order`: greedy in order with packing, one per window without. */
export function packWindows(lengths: readonly number[], order: readonly number[], capacity: number, packing: boolean): number[][] {
  const out: number[][] = [];
  let cur: number[] = [];
  let used = 0;
  for (const i of order) {
    const n = lengths[i]!;
    if (n > capacity) throw new Error(`packWindows: sample ${i} has ${n} tokens, more than a window's ${capacity}`);
    if (cur.length > 0 && (!packing || used + n > capacity)) {
      out.push(cur);
      cur = [];
      used = 0;
    }
    cur.push(i);
    used += n;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/**
 * B windows of samples as a batch: tokens, segments, and the masked cross-entropy for the main head and each MTP depth
 * (weights 1/count of that head's loss targets in the batch; all zero if it has none).
 */
export function chatBatch(samples: readonly EncodedSample[], windows: readonly (readonly number[])[], l: ChatLayout): TokenBatch & { lossTokens: number } {
  const S = l.seqLen, D = l.mtpDepth, W = S + 1 + D, B = windows.length;
  const tokens = new Int32Array(B * W);
  const segments = new Int32Array(B * W).fill(-1);
  const loss = new Uint8Array(B * W);
  windows.forEach((win, b) => {
    let at = b * W;
    win.forEach((si, j) => {
      const s = samples[si]!;
      if (at + s.ids.length > b * W + S + 1) throw new Error(`chatBatch: window ${b} overflows (${s.where})`);
      tokens.set(s.ids, at);
      loss.set(s.loss, at);
      segments.fill(j, at, at + s.ids.length);
      at += s.ids.length;
    });
  });
  const heads = Array.from({ length: D + 1 }, () => new Float64Array(B * S));
  const counts = new Array<number>(D + 1).fill(0);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < S; i++) {
      const p = b * W + i;
      if (segments[p] < 0) continue;
      for (let h = 0; h <= D; h++) {
        const q = p + h + 1; // the main head's target is i+1, MTP module k = h−1 predicts i+k+2
        if (segments[q] === segments[p] && loss[q]) {
          heads[h][b * S + i] = 1;
          counts[h]++;
        }
      }
    }
  }
  heads.forEach((w, h) => {
    if (counts[h] > 0) for (let t = 0; t < w.length; t++) w[t] /= counts[h];
  });
  return { tokens, segments, objective: weightedCrossEntropy(heads[0], S, heads.slice(1)), lossTokens: counts[0] };
}

/** The SFT batch source: epochs of seeded orders packed into windows, B windows per batch across epoch ends. */
export class ChatBatches implements BatchSource {
  pos: DataPosition = { epoch: 0, index: 0 };
  private readonly lengths: number[];
  private cached: { epoch: number; windows: number[][] } | undefined;

  constructor(readonly samples: readonly EncodedSample[], readonly layout: ChatLayout, readonly seed: number) {
    if (samples.length === 0) throw new Error('chat data: no conversations');
    checkLengths(samples, layout.seqLen);
    this.lengths = samples.map((s) => s.ids.length);
  }

  /** The windows of epoch e (its seeded order, packed). */
  windowsOf(epoch: number): number[][] {
    if (this.cached?.epoch !== epoch) {
      const order = Array.from(this.samples, (_, i) => i);
      const rng = new Rng((this.seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0);
      for (let i = order.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      this.cached = { epoch, windows: packWindows(this.lengths, order, this.layout.seqLen + 1, this.layout.packing) };
    }
    return this.cached.windows;
  }

  /** Optimizer steps for `epochs` passes at `batch` windows a step: ⌈Σ_e windows(e) / batch⌉ (packing varies per epoch). */
  stepsFor(epochs: number, batch: number): number {
    let total = 0;
    for (let e = 0; e < epochs; e++) total += this.windowsOf(e).length;
    return Math.ceil(total / batch);
  }

  nextBatch(B: number): TokenBatch {
    const picked: number[][] = [];
    while (picked.length < B) {
      const wins = this.windowsOf(this.pos.epoch);
      if (this.pos.index >= wins.length) {
        this.pos = { epoch: this.pos.epoch + 1, index: 0 };
        continue;
      }
      picked.push(wins[this.pos.index]!);
      this.pos = { epoch: this.pos.epoch, index: this.pos.index + 1 };
    }
    return chatBatch(this.samples, picked, this.layout);
  }
}

/** Held-out batches in file order (packed as training is), with each batch's count of main-head loss tokens. */
export function heldOutBatches(samples: readonly EncodedSample[], layout: ChatLayout, batch: number): (TokenBatch & { lossTokens: number; rows: number })[] {
  checkLengths(samples, layout.seqLen);
  const wins = packWindows(samples.map((s) => s.ids.length), samples.map((_, i) => i), layout.seqLen + 1, layout.packing);
  const out: (TokenBatch & { lossTokens: number; rows: number })[] = [];
  for (let i = 0; i < wins.length; i += batch) {
    const part = wins.slice(i, i + batch);
    out.push({ ...chatBatch(samples, part, layout), rows: part.length });
  }
  return out;
}
