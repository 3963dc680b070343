// The compressed MLA cache of one sequence (DeepSeek's inference form): per layer only the normalised latent
// c_kv [kv_lora_rank] and the RoPE'd shared key k_pe [qk_rope_head_dim] of every token; per-head keys and values are
// never stored (attention absorbs kv_b into the query and the output). Each layer is one byte buffer of fixed-size
// token rows in the native kernels' layout (runtime/native/kernels/mla.h):
//   f32  — c_kv | k_pe in float32 (what the fp32 engine and the TypeScript fallback read);
//   bf16 — both in bfloat16 (half the bytes; the default of the bf16/fp8 engines);
//   fp8  — c_kv in E4M3 with one float32 scale per 128 values, k_pe in bfloat16 (as DeepSeek's FP8 cache keeps the
//          RoPE part out of FP8), about a quarter of f32's bytes.
// Capacity grows by doubling. `length` counts the tokens cached; the model writes rows [length, length+n) during a
// forward and advances it after the last layer (setting it lower drops the tail, e.g. rejected draft tokens).
import { kvRead, kvWrite, type KvCacheType } from '../../native/index.js';

export type { KvCacheType } from '../../native/index.js';

export interface LayerCache {
  /** [capacity, rowBytes] token rows. */
  rows: Uint8Array;
}

/** Bytes per token row (mirrors kv_row_bytes in mla.h; no addon needed for f32). */
export function rowBytes(type: KvCacheType, kr: number, dr: number): number {
  if (type === 'f32') return 4 * (kr + dr);
  if (type === 'bf16') return 2 * (kr + dr);
  if (type === 'fp8') return kr + 4 * Math.ceil(kr / 128) + 2 * dr;
  throw new Error(`kv cache: type must be f32, bf16 or fp8, got ${String(type)}`);
}

export class SequenceCache {
  layers: LayerCache[];
  /** Tokens cached (positions 0..length-1). */
  length = 0;
  readonly rowBytes: number;
  private capacity: number;

  constructor(readonly numLayers: number, readonly kr: number, readonly dr: number, initial = 16, readonly type: KvCacheType = 'f32') {
    this.rowBytes = rowBytes(type, kr, dr);
    this.capacity = Math.max(1, initial);
    this.layers = Array.from({ length: numLayers }, () => ({ rows: new Uint8Array(this.capacity * this.rowBytes) }));
  }

  /** Makes room for `n` tokens in total. */
  reserve(n: number): void {
    if (n <= this.capacity) return;
    let cap = this.capacity;
    while (cap < n) cap *= 2;
    this.layers = this.layers.map((l) => {
      const rows = new Uint8Array(cap * this.rowBytes);
      rows.set(l.rows.subarray(0, this.length * this.rowBytes));
      return { rows };
    });
    this.capacity = cap;
  }

  /** A float32 view of an f32 cache layer: row j's c_kv at j·(kr+dr), its k_pe after it. */
  f32(layer: number): Float32Array {
    if (this.type !== 'f32') throw new Error(`kv cache: f32() needs an f32 cache, this one is ${this.type}`);
    const b = this.layers[layer].rows;
    return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
  }

  /** Writes n tokens' c_kv [n, kr] and k_pe [n, dr] at positions [pos, pos+n) of a layer (room reserved). */
  write(layer: number, pos: number, n: number, ckv: Float32Array, kpe: Float32Array): void {
    const { kr, dr } = this;
    if (this.type !== 'f32') {
      kvWrite(this.layers[layer].rows, this.type, kr, dr, pos, n, ckv, kpe);
      return;
    }
    const v = this.f32(layer);
    const w = kr + dr;
    for (let i = 0; i < n; i++) {
      v.set(ckv.subarray(i * kr, (i + 1) * kr), (pos + i) * w);
      v.set(kpe.subarray(i * dr, (i + 1) * dr), (pos + i) * w + kr);
    }
  }

  /** Positions [0, n) of a layer in float32: c_kv [n, kr] and k_pe [n, dr]. */
  read(layer: number, n = this.length): { ckv: Float32Array; kpe: Float32Array } {
    const { kr, dr } = this;
    const w = kr + dr;
    const rows = this.type === 'f32' ? this.f32(layer) : kvRead(this.layers[layer].rows, this.type, kr, dr, 0, n);
    const ckv = new Float32Array(n * kr);
    const kpe = new Float32Array(n * dr);
    for (let i = 0; i < n; i++) {
      ckv.set(rows.subarray(i * w, i * w + kr), i * kr);
      kpe.set(rows.subarray(i * w + kr, (i + 1) * w), i * dr);
    }
    return { ckv, kpe };
  }

  /** A cache holding given per-layer latents and keys of `n` tokens (a hand-off). */
  static from(latent: Float32Array[], kpe: Float32Array[], n: number, kr: number, dr: number, type: KvCacheType = 'f32'): SequenceCache {
    const c = new SequenceCache(latent.length, kr, dr, n, type);
    for (let l = 0; l < latent.length; l++) c.write(l, 0, n, latent[l].subarray(0, n * kr), kpe[l].subarray(0, n * dr));
    c.length = n;
    return c;
  }

  /** Copies of the first n tokens per layer in float32 (for a hand-off; a bf16/fp8 cache gives its rounded values). */
  export(n = this.length): { latent: Float32Array[]; kpe: Float32Array[] } {
    const latent: Float32Array[] = [];
    const kpe: Float32Array[] = [];
    for (let l = 0; l < this.numLayers; l++) {
      const r = this.read(l, n);
      latent.push(r.ckv);
      kpe.push(r.kpe);
    }
    return { latent, kpe };
  }
}
