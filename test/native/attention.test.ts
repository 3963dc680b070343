// MLA attention over the compressed cache (runtime/native/kernels/mla.h): every kernel path against a float64 oracle
// written from the training form (per-head keys and values through kv_b, no absorption) on the cache's own values,
// the paths against each other, the f32 path against the engine's TypeScript core (mla-core.ts), and the cache row
// codecs' rounding bounds (bf16, fp8 with a scale per 128 latent values).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { kvRead, kvRowBytes, kvWrite, mlaAttention, mlaWuvT, type KvCacheType, type MlaAttentionShape, type MlaSegment } from '../../runtime/src/native/index.js';
import { attendAbsorbed } from '../../runtime/src/serve/engine/mla-core.js';
import { nonGemmPaths, withPath } from './paths.js';
import { randn, rng } from './util.js';

interface Seq { L: number; n: number }

const SHAPES: [string, MlaAttentionShape][] = [
  ['odd sizes (no full vector anywhere)', { H: 3, dn: 5, dr: 6, dv: 7, kr: 20, scale: 0.3 }],
  ['deepseek-v3-tiny', { H: 4, dn: 32, dr: 16, dv: 32, kr: 64, scale: 1 / Math.sqrt(48) }],
  ['kv_lora_rank 136 (two FP8 scale tiles)', { H: 2, dn: 16, dr: 8, dv: 16, kr: 136, scale: 0.2 }],
];
// A prompt, a decode token deep in a sequence, and a chunk continuing a sequence: one call.
// 37 + 6 and 40 + 2 keys span several SIMD vectors of transposed keys.
const SEQS: Seq[] = [{ L: 0, n: 5 }, { L: 9, n: 1 }, { L: 3, n: 4 }, { L: 37, n: 6 }, { L: 40, n: 2 }];
const TYPES: KvCacheType[] = ['f32', 'bf16', 'fp8'];

function inputs(m: MlaAttentionShape, seed: number) {
  const r = rng(seed);
  const T = SEQS.reduce((s, q) => s + q.n, 0);
  return {
    T,
    q: randn(T * m.H * (m.dn + m.dr), r, 2),
    ckv: randn(T * m.kr, r),
    kpe: randn(T * m.dr, r),
    kvb: randn(m.H * (m.dn + m.dv) * m.kr, r, 0.5),
    // The L cached tokens each sequence already holds.
    history: SEQS.map((s) => ({ ckv: randn(s.L * m.kr, r), kpe: randn(s.L * m.dr, r) })),
  };
}

function caches(m: MlaAttentionShape, type: KvCacheType, x: ReturnType<typeof inputs>): MlaSegment[] {
  let row0 = 0;
  return SEQS.map((s, i) => {
    // Two spare rows: a cache is usually longer than what it holds.
    const cache = new Uint8Array((s.L + s.n + 2) * kvRowBytes(type, m.kr, m.dr));
    if (s.L > 0) kvWrite(cache, type, m.kr, m.dr, 0, s.L, x.history[i].ckv, x.history[i].kpe);
    const seg = { cache, type, L: s.L, n: s.n, row0 };
    row0 += s.n;
    return seg;
  });
}

/** Float64, training form, over the values the cache holds after the call. */
function oracle(m: MlaAttentionShape, x: ReturnType<typeof inputs>, segs: MlaSegment[]): Float64Array {
  const { H, dn, dr, dv, kr, scale } = m;
  const w = kr + dr, qk = dn + dr;
  const o = new Float64Array(x.T * H * dv);
  for (const s of segs) {
    const N = s.L + s.n;
    const rows = kvRead(s.cache, s.type, kr, dr, 0, N);
    for (let h = 0; h < H; h++) {
      // Per-head keys and values of every cached position: k_nope = W_uk·c, v = W_uv·c.
      const kn = new Float64Array(N * dn), v = new Float64Array(N * dv);
      for (let j = 0; j < N; j++) {
        for (let e = 0; e < dn + dv; e++) {
          let acc = 0;
          for (let c = 0; c < kr; c++) acc += x.kvb[(h * (dn + dv) + e) * kr + c] * rows[j * w + c];
          if (e < dn) kn[j * dn + e] = acc;
          else v[j * dv + e - dn] = acc;
        }
      }
      for (let i = 0; i < s.n; i++) {
        const t = s.row0 + i, last = s.L + i;
        const qo = t * H * qk + h * qk;
        const p = new Float64Array(last + 1);
        let mx = -Infinity;
        for (let j = 0; j <= last; j++) {
          let sc = 0;
          for (let e = 0; e < dn; e++) sc += x.q[qo + e] * kn[j * dn + e];
          for (let e = 0; e < dr; e++) sc += x.q[qo + dn + e] * rows[j * w + kr + e];
          p[j] = sc * scale;
          mx = Math.max(mx, p[j]);
        }
        let z = 0;
        for (let j = 0; j <= last; j++) z += (p[j] = Math.exp(p[j] - mx));
        for (let e = 0; e < dv; e++) {
          let acc = 0;
          for (let j = 0; j <= last; j++) acc += (p[j] / z) * v[j * dv + e];
          o[t * H * dv + h * dv + e] = acc;
        }
      }
    }
  }
  return o;
}

function maxRel(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let d = 0, m = 0;
  for (let i = 0; i < want.length; i++) {
    d = Math.max(d, Math.abs(got[i] - want[i]));
    m = Math.max(m, Math.abs(want[i]));
  }
  return d / m;
}

describe('mlaAttention', () => {
  for (const [name, m] of SHAPES) {
    for (const type of TYPES) {
      it(`${name}, ${type} cache: every path matches the float64 training form on the cached values; paths agree; caches written identically`, () => {
        const x = inputs(m, 7);
        let first: { o: Float32Array; bytes: Uint8Array[] } | undefined;
        for (const path of nonGemmPaths()) {
          const segs = caches(m, type, x);
          const o = withPath(path, () => mlaAttention(m, x.q, x.ckv, x.kpe, x.kvb, segs, x.T));
          const e = maxRel(o, oracle(m, x, segs));
          // fp32 accumulation over at most kv_lora_rank + qk_rope_head_dim terms per score and the context per output.
          assert.ok(e < 2e-5, `${path}: max |Δ| / max |o| = ${e}`);
          const bytes = segs.map((s) => s.cache);
          if (!first) first = { o, bytes };
          else {
            assert.ok(maxRel(o, first.o) < 2e-5, `${path} vs ${nonGemmPaths()[0]}`);
            bytes.forEach((b, i) => assert.deepEqual(b, first!.bytes[i], `${path}: cache ${i} bytes`));
          }
        }
      });
    }
  }

  it('the f32 cache gives the engine TypeScript core\'s result (mla-core attendAbsorbed, float64)', () => {
    const m = SHAPES[1][1];
    const { H, dn, dr, dv, kr, scale } = m;
    const x = inputs(m, 8);
    const segs = caches(m, 'f32', x);
    const o = mlaAttention(m, x.q, x.ckv, x.kpe, x.kvb, segs, x.T);
    const kvb64 = Float64Array.from(x.kvb);
    const js = new Float32Array(o.length);
    const w = kr + dr;
    for (const s of segs) {
      const C = new Float32Array(s.cache.buffer, 0, (s.L + s.n) * w);
      const p = new Float64Array(s.L + s.n);
      for (let i = 0; i < s.n; i++) {
        const t = s.row0 + i;
        for (let h = 0; h < H; h++) {
          attendAbsorbed(x.q, t * H * (dn + dr) + h * (dn + dr), kvb64, h * (dn + dv) * kr, C, C, s.L + i, kr, dn, dr, dv, scale,
            new Float64Array(kr), new Float64Array(kr), new Float64Array(dr), p, js, t * H * dv + h * dv, w, w, kr);
        }
      }
    }
    assert.ok(maxRel(o, js) < 2e-5, `native vs TypeScript core: ${maxRel(o, js)}`);
  });

  it('cache codecs: f32 exact; bf16 within half a bf16 ulp; fp8 within half an E4M3 step of its tile scale, k_pe in bf16', () => {
    const r = rng(3);
    const kr = 200, dr = 8, n = 6;
    // Values over several binades, some tiny (subnormal in E4M3 after scaling), one tile with a large outlier.
    const ckv = Float32Array.from({ length: n * kr }, (_, i) => (r() - 0.5) * 10 ** (r() * 4 - 3) * (i % kr === 150 ? 1e3 : 1));
    const kpe = randn(n * dr, r, 3);
    for (const type of TYPES) {
      const cache = new Uint8Array(n * kvRowBytes(type, kr, dr));
      kvWrite(cache, type, kr, dr, 0, n, ckv, kpe);
      const back = kvRead(cache, type, kr, dr, 0, n);
      for (let t = 0; t < n; t++) {
        for (let tile = 0; tile < kr; tile += 128) {
          let amax = 0;
          for (let c = tile; c < Math.min(kr, tile + 128); c++) amax = Math.max(amax, Math.abs(ckv[t * kr + c]));
          const s = Math.max(amax, 1e-4) / 448;
          for (let c = tile; c < Math.min(kr, tile + 128); c++) {
            const v = ckv[t * kr + c], got = back[t * (kr + dr) + c];
            const tol = type === 'f32' ? 0 : type === 'bf16' ? Math.abs(v) * 2 ** -8 : Math.max(Math.abs(v) * 2 ** -4, s * 2 ** -10) * (1 + 1e-6);
            assert.ok(Math.abs(got - v) <= tol, `${type} c_kv[${t}, ${c}] = ${v} came back ${got} (tol ${tol})`);
          }
        }
        for (let e = 0; e < dr; e++) {
          const v = kpe[t * dr + e], got = back[t * (kr + dr) + kr + e];
          assert.ok(Math.abs(got - v) <= (type === 'f32' ? 0 : Math.abs(v) * 2 ** -8), `${type} k_pe[${t}, ${e}] = ${v} came back ${got}`);
        }
      }
    }
    assert.equal(kvRowBytes('fp8', kr, dr), 200 + 2 * 4 + 2 * 8);
  });

  it('bad shapes throw before the kernel runs: short caches, overlapping or out-of-range rows, shared caches, unknown types', () => {
    const m = SHAPES[0][1];
    const x = inputs(m, 9);
    const good = () => caches(m, 'bf16', x);
    const call = (segs: MlaSegment[], T = x.T) => mlaAttention(m, x.q, x.ckv, x.kpe, x.kvb, segs, T);
    assert.doesNotThrow(() => call(good()));
    const short = good();
    short[1] = { ...short[1], cache: short[1].cache.subarray(0, 3) };
    assert.throws(() => call(short), /segs\[1\]\.cache holds 3 bytes/);
    const overlap = good();
    overlap[2] = { ...overlap[2], row0: 4 };
    assert.throws(() => call(overlap), /segs\[2\] rows \[4, 8\) must lie in \[0, T = 18\) after the previous segment's rows/);
    const past = good();
    past[2] = { ...past[2], n: 13 };
    assert.throws(() => call(past), /segs\[2\] rows/);
    const shared = good();
    shared[2] = { ...shared[2], cache: shared[0].cache };
    assert.throws(() => call(shared), /two sequences share cache memory/);
    const typed = good();
    typed[0] = { ...typed[0], type: 'fp16' as KvCacheType };
    assert.throws(() => call(typed), /cache type must be 'f32', 'bf16' or 'fp8'/);
    assert.throws(() => call(good(), x.T + 1), /q must have length/);
    assert.throws(() => mlaAttention({ ...m, scale: -1 }, x.q, x.ckv, x.kpe, x.kvb, good(), x.T), /scale must be a finite number > 0/);
    assert.throws(() => mlaAttention(m, x.q, x.ckv, x.kpe, x.kvb, good(), x.T, new Float32Array(3)), /mlaAttention: wuvT must have length 420 \(H\*kr\*dv = 3\*20\*7\), got 3/);
    // W_uv transposed once by the caller (as the engine does) = computed by the wrapper.
    assert.deepEqual(mlaAttention(m, x.q, x.ckv, x.kpe, x.kvb, good(), x.T, mlaWuvT(m, x.kvb)), mlaAttention(m, x.q, x.ckv, x.kpe, x.kvb, good(), x.T));
  });
});
