// MLA attention driver: cache row codecs, the per-sequence absorbed attention, dispatch by kernel path.
#include "mla.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu.h"
#include "fp8.h"

namespace moe {

namespace {
constexpr size_t kTile = 128;  // FP8 cache: one scale per 128 latent values, as the activation tiles of quant.h

size_t fp8_scales(size_t kr) { return (kr + kTile - 1) / kTile; }

const mla::Isa& isa() {
  static const mla::Isa ref = mla::isa_ref(), avx2 = mla::isa_avx2(), avx512 = mla::isa_avx512();
  switch (current_path()) {
    case KernelPath::Reference: return ref;
    case KernelPath::Avx2: return avx2;
    default: return avx512;  // Avx512 and Amx (no tile work here)
  }
}
}  // namespace

size_t kv_row_bytes(KvType t, size_t kr, size_t dr) {
  switch (t) {
    case KvType::F32: return 4 * (kr + dr);
    case KvType::BF16: return 2 * (kr + dr);
    case KvType::FP8: return kr + 4 * fp8_scales(kr) + 2 * dr;
  }
  return 0;
}

void kv_encode_rows(KvType t, const float* ckv, const float* kpe, size_t n, size_t kr, size_t dr, uint8_t* out) {
  const size_t rb = kv_row_bytes(t, kr, dr);
  for (size_t i = 0; i < n; ++i) {
    uint8_t* row = out + i * rb;
    const float* c = ckv + i * kr;
    const float* k = kpe + i * dr;
    if (t == KvType::F32) {
      std::memcpy(row, c, 4 * kr);
      std::memcpy(row + 4 * kr, k, 4 * dr);
      continue;
    }
    uint8_t* kp = row + (t == KvType::BF16 ? 2 * kr : kr + 4 * fp8_scales(kr));
    for (size_t e = 0; e < dr; ++e) {
      uint16_t b = f32_to_bf16(k[e]);
      std::memcpy(kp + 2 * e, &b, 2);
    }
    if (t == KvType::BF16) {
      for (size_t e = 0; e < kr; ++e) {
        uint16_t b = f32_to_bf16(c[e]);
        std::memcpy(row + 2 * e, &b, 2);
      }
      continue;
    }
    for (size_t b0 = 0, tile = 0; b0 < kr; b0 += kTile, ++tile) {
      const size_t b1 = std::min(kr, b0 + kTile);
      float amax = 0;
      for (size_t e = b0; e < b1; ++e) amax = std::max(amax, std::fabs(c[e]));
      const float s = std::max(amax, 1e-4f) / 448.0f;
      for (size_t e = b0; e < b1; ++e) row[e] = f32_to_e4m3(c[e] / s, true);
      std::memcpy(row + kr + 4 * tile, &s, 4);
    }
  }
}

void kv_decode_rows(KvType t, const uint8_t* rows, size_t n, size_t kr, size_t dr, float* out) {
  const size_t rb = kv_row_bytes(t, kr, dr), w = kr + dr;
  const float* e4m3 = t == KvType::FP8 ? fp8_to_f32_table(Fp8Format::E4M3) : nullptr;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* row = rows + i * rb;
    float* o = out + i * w;
    if (t == KvType::F32) {
      std::memcpy(o, row, 4 * w);
      continue;
    }
    const uint8_t* kp = row + (t == KvType::BF16 ? 2 * kr : kr + 4 * fp8_scales(kr));
    for (size_t e = 0; e < dr; ++e) {
      uint16_t b;
      std::memcpy(&b, kp + 2 * e, 2);
      o[kr + e] = bf16_to_f32(b);
    }
    if (t == KvType::BF16) {
      for (size_t e = 0; e < kr; ++e) {
        uint16_t b;
        std::memcpy(&b, row + 2 * e, 2);
        o[e] = bf16_to_f32(b);
      }
      continue;
    }
    for (size_t b0 = 0, tile = 0; b0 < kr; b0 += kTile, ++tile) {
      float s;
      std::memcpy(&s, row + kr + 4 * tile, 4);
      for (size_t e = b0; e < std::min(kr, b0 + kTile); ++e) o[e] = e4m3[row[e]] * s;
    }
  }
}

namespace {

struct Scratch {
  std::vector<float> K, KT, Qa, S, Olat;
};

constexpr size_t kPad = 16;  // S and KT rows hold whole SIMD vectors of keys (dots_t)

void attend_one(const mla::Isa& I, const MlaShape& m, const MlaSeq& s, const float* q, const float* ckv, const float* kpe,
                const float* kvb, const float* wuv_t, float* o, Scratch& sc) {
  const size_t H = m.H, dn = m.dn, dr = m.dr, dv = m.dv, kr = m.kr, w = kr + dr, qk = dn + dr;
  const size_t n = s.n, L = s.L, Lt = L + n, rb = kv_row_bytes(s.type, kr, dr);
  kv_encode_rows(s.type, ckv + s.row0 * kr, kpe + s.row0 * dr, n, kr, dr, s.cache + L * rb);
  // The cache rows as f32 [Lt, w]: an aligned f32 cache is read in place, others are decoded once for all heads.
  const float* K;
  if (s.type == KvType::F32 && reinterpret_cast<uintptr_t>(s.cache) % alignof(float) == 0) {
    K = reinterpret_cast<const float*>(s.cache);
  } else {
    sc.K.resize(Lt * w);
    kv_decode_rows(s.type, s.cache, Lt, kr, dr, sc.K.data());
    K = sc.K.data();
  }
  // Absorbed queries [n, H, w]: W_uk[h]^T q_nope | q_pe, times the softmax scale.
  sc.Qa.resize(n * H * w);
  float* Qa = sc.Qa.data();
  const float* qs = q + s.row0 * H * qk;
  for (size_t h = 0; h < H; ++h) I.mix(qs + h * qk, H * qk, n, kvb + h * (dn + dv) * kr, kr, dn, kr, Qa + h * w, H * w);
  for (size_t r = 0; r < n * H; ++r) {
    float* a = Qa + r * w;
    std::memcpy(a + kr, qs + r * qk + dn, dr * sizeof(float));
    for (size_t c = 0; c < w; ++c) a[c] *= m.scale;
  }
  // The keys transposed [w, Ltp] (zero padded), so the scores are vectors of keys: no horizontal sum per score. Every
  // segment takes this path, whatever its n: a token's result must not depend on how many tokens share its segment
  // (speculative verify windows give exactly the one-token steps' log-probabilities). Per-key dots for decode tokens
  // were faster there (batch 32: 0.77 vs 1.0 ms per forward) but sum in another order.
  const size_t Ltp = (Lt + kPad - 1) / kPad * kPad;
  sc.KT.assign(w * Ltp, 0.0f);
  float* KT = sc.KT.data();
  for (size_t j = 0; j < Lt; ++j)
    for (size_t c = 0; c < w; ++c) KT[c * Ltp + j] = K[j * w + c];
  // Scores and softmax, causal: token t sees cache rows [0, L+t].
  sc.S.resize(n * H * Ltp);
  float* S = sc.S.data();
  for (size_t t = 0; t < n; ++t) I.dots_t(Qa + t * H * w, w, H, KT, Ltp, L + t + 1, w, S + t * H * Ltp, Ltp);
  for (size_t r = 0; r < n * H; ++r) I.softmax(S + r * Ltp, L + r / H + 1);
  // Attended latents [n, H, kr], then W_uv[h] per head into o.
  sc.Olat.resize(n * H * kr);
  float* Ol = sc.Olat.data();
  for (size_t t = 0; t < n; ++t) I.mix(S + t * H * Ltp, Ltp, H, K, w, L + t + 1, kr, Ol + t * H * kr, kr);
  float* os = o + s.row0 * H * dv;
  // W_uv transposed (output lanes, no horizontal sum per output), for every segment alike.
  for (size_t h = 0; h < H; ++h) I.mix(Ol + h * kr, H * kr, n, wuv_t + h * kr * dv, dv, kr, dv, os + h * dv, H * dv);
}

}  // namespace

void mla_attention(const MlaShape& m, const MlaSeq* seqs, size_t S, const float* q, const float* ckv, const float* kpe,
                   const float* kvb, const float* wuv_t, float* o) {
  const mla::Isa& I = isa();
  parallel_for(S, 1, [&](size_t b, size_t e) {
    thread_local Scratch sc;
    for (size_t i = b; i < e; ++i) attend_one(I, m, seqs[i], q, ckv, kpe, kvb, wuv_t, o, sc);
  });
}

}  // namespace moe
