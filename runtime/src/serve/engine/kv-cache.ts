// The compressed MLA cache of one sequence (DeepSeek's inference form): per layer only the normalised latent
// c_kv [T, kv_lora_rank] and the RoPE'd shared key k_pe [T, qk_rope_head_dim]; per-head keys and values are never
// stored (decode absorbs kv_b into the query and the output). Capacity grows by doubling up to the sequence limit.
export interface LayerCache {
  ckv: Float32Array;
  kpe: Float32Array;
}

export class SequenceCache {
  layers: LayerCache[];
  /** Tokens cached (positions 0..length-1). */
  length = 0;
  private capacity: number;

  constructor(readonly numLayers: number, readonly kr: number, readonly dr: number, initial = 16) {
    this.capacity = Math.max(1, initial);
    this.layers = Array.from({ length: numLayers }, () => ({ ckv: new Float32Array(this.capacity * kr), kpe: new Float32Array(this.capacity * dr) }));
  }

  /** Makes room for `n` tokens in total. */
  reserve(n: number): void {
    if (n <= this.capacity) return;
    let cap = this.capacity;
    while (cap < n) cap *= 2;
    this.layers = this.layers.map((l) => {
      const ckv = new Float32Array(cap * this.kr);
      const kpe = new Float32Array(cap * this.dr);
      ckv.set(l.ckv.subarray(0, this.length * this.kr));
      kpe.set(l.kpe.subarray(0, this.length * this.dr));
      return { ckv, kpe };
    });
    this.capacity = cap;
  }

  /** A cache holding given per-layer latents and keys of `n` tokens (a hand-off). */
  static from(latent: Float32Array[], kpe: Float32Array[], n: number, kr: number, dr: number): SequenceCache {
    const c = new SequenceCache(latent.length, kr, dr, n);
    for (let l = 0; l < latent.length; l++) {
      c.layers[l].ckv.set(latent[l].subarray(0, n * kr));
      c.layers[l].kpe.set(kpe[l].subarray(0, n * dr));
    }
    c.length = n;
    return c;
  }

  /** Copies of the first n tokens per layer (for a hand-off). */
  export(n = this.length): { latent: Float32Array[]; kpe: Float32Array[] } {
    return {
      latent: this.layers.map((l) => l.ckv.slice(0, n * this.kr)),
      kpe: this.layers.map((l) => l.kpe.slice(0, n * this.dr)),
    };
  }
}
