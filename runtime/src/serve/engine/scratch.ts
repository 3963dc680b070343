// Reused memory for a forward's short-lived arrays. A fresh typed array of a megabyte costs ~150 µs of page faults
// and GC on this runtime (as much as a 1024 × 256 × 128 GEMM), and a prefill layer made ~25 MB of them. The model
// holds two arenas and each decoder layer resets the one it uses (layer l takes arena l % 2), so an array lives until
// the end of the next layer: long enough for a layer's output to be the next layer's input, never longer. Only
// arrays that a kernel overwrites whole come from here (they are not zeroed), and nothing that leaves the forward
// (logits, the hidden states handed out) does. scratchF32/scratchU8 give arena memory inside inArena(), else new
// arrays; the forward enters an arena only around synchronous code, so no other forward can take from it.
export class Arena {
  private buf = new ArrayBuffer(0);
  private off = 0;
  private need = 0;

  /** Frees everything taken since the last reset; grows the buffer to what the last round needed. */
  reset(): void {
    if (this.need > this.buf.byteLength) this.buf = new ArrayBuffer(this.need);
    this.off = 0;
    this.need = 0;
  }

  private take(bytes: number): number {
    const at = this.off;
    this.off += Math.ceil(bytes / 64) * 64;
    this.need = Math.max(this.need, this.off);
    return this.off <= this.buf.byteLength ? at : -1;
  }

  f32(n: number): Float32Array {
    const at = this.take(4 * n);
    return at < 0 ? new Float32Array(n) : new Float32Array(this.buf, at, n);
  }

  u8(n: number): Uint8Array {
    const at = this.take(n);
    return at < 0 ? new Uint8Array(n) : new Uint8Array(this.buf, at, n);
  }
}

let active: Arena | undefined;

/** Runs fn with `a` (or none) as the arena scratchF32/scratchU8 take from. */
export function inArena<T>(a: Arena | undefined, fn: () => T): T {
  const prev = active;
  active = a;
  try {
    return fn();
  } finally {
    active = prev;
  }
}

/** n float32 values that the caller overwrites whole: arena memory inside inArena(), else a new array. */
export function scratchF32(n: number): Float32Array {
  return active ? active.f32(n) : new Float32Array(n);
}

export function scratchU8(n: number): Uint8Array {
  return active ? active.u8(n) : new Uint8Array(n);
}

/** Buffers for quantizeActivations of [rows, cols] (codes and per-128 scales). */
export function scratchQuant(rows: number, cols: number): { q: Uint8Array; scales: Float32Array } {
  return { q: scratchU8(rows * cols), scales: scratchF32(rows * Math.ceil(cols / 128)) };
}
