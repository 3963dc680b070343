// Multi-head Latent Attention over the compressed KV cache, absorbed form (DeepSeek's serving form). No V8/nan here.
//
// Per sequence s, n new tokens at positions [L, L+n) (rows row0.. of the batch) attend causally over the cache
// rows [0, L+n) after their own rows are appended. With w = kr + dr and per head h:
//   qa[t,h]  = scale * ( W_uk[h]^T q_nope[t,h]  |  q_pe[t,h] )                        [w]
//   S[t,h,j] = qa[t,h] . cache[j]         for j <= L+t          (cache[j] = c_kv[j] | k_pe[j], decoded to f32)
//   P        = softmax_j S
//   o[t,h]   = W_uv[h] . sum_j P[t,h,j] c_kv[j]                                        [dv]
// W_uk[h] / W_uv[h] are kv_b's k and v rows of head h ([dn, kr] and [dv, kr] of kv_b [H*(dn+dv), kr]).
// Decode (n = 1) and prefill (n = prompt) are the same call; sequences run in parallel on the pool.
#pragma once
#include <cstddef>
#include <cstdint>

namespace moe {

// Cache row layouts (one row per token, bytes):
//   F32:  c_kv f32[kr] | k_pe f32[dr]
//   BF16: c_kv bf16[kr] | k_pe bf16[dr]                                  (round to nearest even)
//   FP8:  c_kv e4m3[kr] | f32 scale per 128 of kr | k_pe bf16[dr]         (scale = max(amax, 1e-4)/448, as quant.h)
enum class KvType { F32 = 0, BF16 = 1, FP8 = 2 };

size_t kv_row_bytes(KvType t, size_t kr, size_t dr);
// Encodes n rows (c_kv [n, kr], k_pe [n, dr]) into out (n rows).
void kv_encode_rows(KvType t, const float* ckv, const float* kpe, size_t n, size_t kr, size_t dr, uint8_t* out);
// Decodes n rows into out [n, kr + dr] (c_kv | k_pe per row).
void kv_decode_rows(KvType t, const uint8_t* rows, size_t n, size_t kr, size_t dr, float* out);

struct MlaShape {
  size_t H, dn, dr, dv, kr;
  float scale;
};

struct MlaSeq {
  uint8_t* cache;  // room for L + n rows of `type`
  KvType type;
  size_t L, n, row0;
};

// q [T, H*(dn+dr)] (rotated), ckv [T, kr], kpe [T, dr] (the new tokens' latents), kvb [H*(dn+dv), kr];
// writes o rows [row0, row0+n) of [T, H*dv] for every sequence and appends their rows to their caches.
// wuv_t: kv_b's v rows transposed per head, [H][kr][dv] (mlaWuvT), so o = W_uv . latent runs with output lanes.
void mla_attention(const MlaShape& m, const MlaSeq* seqs, size_t S, const float* q, const float* ckv, const float* kpe,
                   const float* kvb, const float* wuv_t, float* o);

// ---- per-ISA primitives (mla_ref.cc, mla_avx2.cc, mla_avx512.cc) ----
namespace mla {
struct Isa {
  // S[r*lds + j] = Q[r*ldq ..+w) . K[j*ldk ..+w),  r < m, j < N
  void (*dots)(const float* Q, size_t ldq, size_t m, const float* K, size_t ldk, size_t N, size_t w, float* S, size_t lds);
  // O[r*ldo ..+k) = sum_{j<N} P[r*lds + j] * K[j*ldk ..+k),  r < m
  void (*mix)(const float* P, size_t lds, size_t m, const float* K, size_t ldk, size_t N, size_t k, float* O, size_t ldo);
  // S[r*lds + j] = sum_{c<w} Q[r*ldq + c] * KT[c*ldkt + j],  r < m, j < N; the SIMD paths compute whole vectors up to
  // N rounded up to 16, so KT rows and S rows must hold that many (the keys transposed: lanes are keys, no
  // horizontal sums).
  void (*dots_t)(const float* Q, size_t ldq, size_t m, const float* KT, size_t ldkt, size_t N, size_t w, float* S, size_t lds);
  // p[0..N) = softmax(p[0..N))
  void (*softmax)(float* p, size_t N);
};
Isa isa_ref();
Isa isa_avx2();
Isa isa_avx512();
}  // namespace mla

}  // namespace moe
