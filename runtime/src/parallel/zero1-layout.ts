// ZeRO-1 layout (pure): every parameter laid end to end in one flat vector in Params order, padded to a multiple
// of the DP size, and cut into equal shards; DP rank r owns shard r's optimizer state.

export interface FlatParam { name: string; length: number; decay: boolean }

/** The part of one parameter that falls inside a shard. */
export interface Piece {
  name: string;
  decay: boolean;
  /** Element range inside the parameter. */
  from: number;
  to: number;
  /** Where the range starts inside the shard. */
  shardOffset: number;
}

export interface Zero1Layout {
  /** Unpadded flat length. */
  total: number;
  /** Elements per shard (the last one padded with zeros). */
  shardLen: number;
  dp: number;
  /** Offset of each parameter in the flat vector, by name. */
  offsets: Map<string, number>;
}

export function zero1Layout(params: FlatParam[], dp: number): Zero1Layout {
  if (!Number.isInteger(dp) || dp < 1) throw new Error(`ZeRO-1: the data-parallel size must be a positive integer, got ${dp}`);
  const offsets = new Map<string, number>();
  let total = 0;
  for (const p of params) {
    offsets.set(p.name, total);
    total += p.length;
  }
  return { total, shardLen: Math.ceil(total / dp), dp, offsets };
}

/** The pieces of shard `rank`, in flat order. */
export function shardPieces(layout: Zero1Layout, params: FlatParam[], rank: number): Piece[] {
  if (!Number.isInteger(rank) || rank < 0 || rank >= layout.dp) throw new Error(`ZeRO-1: rank ${rank} is outside 0..${layout.dp - 1}`);
  const lo = rank * layout.shardLen;
  const hi = Math.min(lo + layout.shardLen, layout.total);
  const out: Piece[] = [];
  for (const p of params) {
    const start = layout.offsets.get(p.name)!;
    const a = Math.max(lo, start);
    const b = Math.min(hi, start + p.length);
    if (a < b) out.push({ name: p.name, decay: p.decay, from: a - start, to: b - start, shardOffset: a - lo });
  }
  return out;
}
