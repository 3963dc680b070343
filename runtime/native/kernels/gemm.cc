// GEMM drivers: operand packing, cache blocking, threading, and the scalar reference paths.
#include "gemm.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <memory>
#include <vector>

#include "cpu.h"
#include "fp8.h"
#include "quant.h"

namespace moe {

namespace {

using gemm::kKB;
using gemm::kNR;


// Packed operand storage: n elements of 2 (bf16) or 4 (float) bytes.
// Buffers up to 64 MiB come from a per-thread arena that is kept between calls (one arena per nesting slot: a call
// holds at most two): a fresh allocation is fresh pages, and their faults cost as much as the GEMM itself for the
// few-hundred-kilobyte operands of a serving step.
struct Packed {
  static constexpr size_t kArenaMax = size_t{64} << 20;
  std::unique_ptr<uint8_t[]> own;
  uint8_t* p;
  Packed(size_t n, const gemm::Isa& isa) {
    const size_t bytes = n * (isa.layout == gemm::ALayout::kF32 ? 4 : 2);
    thread_local std::vector<uint8_t> arena[2];
    thread_local int depth = 0;
    if (bytes <= kArenaMax && depth < 2) {
      slot = depth++;
      if (arena[slot].size() < bytes) arena[slot].resize(bytes);
      p = arena[slot].data();
      depth_ = &depth;
    } else {
      own.reset(new uint8_t[bytes]);
      p = own.get();
    }
  }
  ~Packed() {
    if (depth_) --*depth_;
  }
  Packed(const Packed&) = delete;
  Packed& operator=(const Packed&) = delete;
  void* get() { return p; }
  int slot = -1;
  int* depth_ = nullptr;
};

// The AVX-512 path's micro-kernel: vdpbf16ps on AMD CPUs with AVX512_BF16 (Zen 4 and later issue it at the fp32 FMA's
// rate with twice its multiply-adds: ~2x here), fp32 FMAs elsewhere (Intel's are half-rate, and AMX covers Sapphire
// Rapids). By CPU, not by a timing probe, so every process on one kind of machine — every pod of a replica — runs the
// same kernel and gets the same bits. MOE_AVX512_GEMM=f32 or bf16 overrides (bf16 only where the CPU has it).
const gemm::Isa& isa_avx512_best() {
  static const gemm::Isa isa = [] {
    const char* env = std::getenv("MOE_AVX512_GEMM");
    const std::string want = env ? env : "";
    const bool has = __builtin_cpu_supports("avx512bf16");
    const bool bf16 = has && (want == "bf16" || (want != "f32" && __builtin_cpu_is("amd")));
    return bf16 ? gemm::isa_avx512_bf16() : gemm::isa_avx512();
  }();
  return isa;
}

gemm::Isa isa_for(KernelPath p) {
  if (p == KernelPath::Amx) return gemm::isa_amx();
  if (p == KernelPath::Avx512) return isa_avx512_best();
  return gemm::isa_avx2();
}

// A [rows, K] -> panels of isa.mr rows in the micro-kernel's layout (gemm.h), zero padded; load(r, k) gives element
// (r, k) as bf16 bits, wherever the source keeps it. Written in output order (a k-chunk of every row of the panel at
// a time) so the stores stream.
template <typename Load>
void pack_a(const gemm::Isa& isa, size_t rows, size_t K, size_t Kp, void* out_v, Load load) {
  const size_t mr = isa.mr, panels = ceil_div(rows, mr);
  parallel_for(panels, 1, [&](size_t p0, size_t p1) {
    for (size_t p = p0; p < p1; ++p) {
      const size_t r_end = std::min(mr, rows - p * mr);
      if (isa.layout == gemm::ALayout::kF32) {
        // Row by row (contiguous reads, branch-free inner loop), then the zero padding: the per-element bounds
        // checks of a column-order loop made packing cost as much as the GEMM itself at N = 256.
        float* o = static_cast<float*>(out_v) + p * mr * Kp;
        for (size_t r = 0; r < r_end; ++r) {
          const size_t row = p * mr + r;
          for (size_t k = 0; k < K; ++k) o[k * mr + r] = bf16_to_f32(load(row, k));
          for (size_t k = K; k < Kp; ++k) o[k * mr + r] = 0.0f;
        }
        for (size_t r = r_end; r < mr; ++r)
          for (size_t k = 0; k < Kp; ++k) o[k * mr + r] = 0.0f;
        continue;
      }
      uint16_t* o = static_cast<uint16_t*>(out_v) + p * mr * Kp;
      if (isa.layout == gemm::ALayout::kPairs) {
        if (r_end == mr && K % 2 == 0) {
          // A full panel: one 32-bit pair per (k pair, row), written in order.
          uint32_t* o32 = reinterpret_cast<uint32_t*>(o);
          for (size_t kp = 0; kp < K / 2; ++kp, o32 += mr)
            for (size_t r = 0; r < mr; ++r) {
              const size_t row = p * mr + r;
              o32[r] = static_cast<uint32_t>(load(row, 2 * kp)) | static_cast<uint32_t>(load(row, 2 * kp + 1)) << 16;
            }
          for (size_t kp = K / 2; kp < Kp / 2; ++kp, o32 += mr)
            for (size_t r = 0; r < mr; ++r) o32[r] = 0;
          continue;
        }
        // Row by row, as the kF32 layout above.
        for (size_t r = 0; r < r_end; ++r) {
          const size_t row = p * mr + r;
          for (size_t k = 0; k < K; ++k) o[(k >> 1) * mr * 2 + r * 2 + (k & 1)] = load(row, k);
          for (size_t k = K; k < Kp; ++k) o[(k >> 1) * mr * 2 + r * 2 + (k & 1)] = 0;
        }
        for (size_t r = r_end; r < mr; ++r)
          for (size_t k = 0; k < Kp; ++k) o[(k >> 1) * mr * 2 + r * 2 + (k & 1)] = 0;
      } else {
        for (size_t c = 0; c < Kp / 32; ++c, o += mr * 32)
          for (size_t r = 0; r < mr; ++r) {
            size_t k0 = c * 32, row = p * mr + r;
            size_t n = r < r_end && k0 < K ? std::min<size_t>(32, K - k0) : 0;
            for (size_t j = 0; j < n; ++j) o[r * 32 + j] = load(row, k0 + j);
            for (size_t j = n; j < 32; ++j) o[r * 32 + j] = 0;
          }
      }
    }
  });
}

size_t packed_a_size(const gemm::Isa& isa, size_t rows, size_t Kp) { return ceil_div(rows, isa.mr) * isa.mr * Kp; }

// B [N, K] -> panels of 32 columns in the isa's layout (gemm.h), zero padded, written in order; load as pack_a's.
template <typename Load>
void pack_b(const gemm::Isa& isa, size_t N, size_t K, size_t Kp, void* out_v, Load load) {
  size_t P = ceil_div(N, kNR);
  parallel_for(P, 1, [&](size_t p0, size_t p1) {
    for (size_t p = p0; p < p1; ++p) {
      const size_t j_end = std::min<size_t>(kNR, N - p * kNR);
      if (isa.layout == gemm::ALayout::kF32) {
        float* o = static_cast<float*>(out_v) + p * kNR * Kp;
        for (size_t k = 0; k < Kp; ++k, o += kNR)
          for (size_t j = 0; j < static_cast<size_t>(kNR); ++j)
            o[j] = j < j_end && k < K ? bf16_to_f32(load(p * kNR + j, k)) : 0.0f;
        continue;
      }
      uint16_t* o = static_cast<uint16_t*>(out_v) + p * kNR * Kp;
      for (size_t kp = 0; kp < Kp / 2; ++kp, o += 2 * kNR)
        for (size_t j = 0; j < static_cast<size_t>(kNR); ++j) {
          size_t k = kp * 2, col = p * kNR + j;
          bool in = j < j_end;
          o[j * 2] = in && k < K ? load(col, k) : 0;
          o[j * 2 + 1] = in && k + 1 < K ? load(col, k + 1) : 0;
        }
    }
  });
}

// FP8 operands packed for the micro-kernel: on the AVX-512 paths the kPairs panels come from the vector decode and
// register transpose (gemm_pack_avx512.cc; packing by the table per element cost as much as the GEMM at training
// shapes), elsewhere from the table. Same bits either way.
bool fp8_pairs_simd(const gemm::Isa& isa, KernelPath path, bool a_side) {
  const bool pairs = a_side ? isa.layout == gemm::ALayout::kPairs : isa.layout != gemm::ALayout::kF32;
  return pairs && (path == KernelPath::Avx512 || path == KernelPath::Amx);
}

void pack_a_fp8(const gemm::Isa& isa, KernelPath path, size_t rows, size_t K, size_t Kp, void* out, const uint8_t* A) {
  if (fp8_pairs_simd(isa, path, true)) {
    const size_t mr = isa.mr;
    parallel_for(ceil_div(rows, mr), 1, [&](size_t p0, size_t p1) {
      for (size_t p = p0; p < p1; ++p)
        gemm::pack_pairs_fp8_avx512(A + p * mr * K, K, K, std::min(mr, rows - p * mr), mr, Kp,
                                    static_cast<uint32_t*>(out) + p * mr * Kp / 2);
    });
    return;
  }
  const uint16_t* lut = fp8_to_bf16_table(Fp8Format::E4M3);
  pack_a(isa, rows, K, Kp, out, [&](size_t r, size_t k) { return lut[A[r * K + k]]; });
}

void pack_b_fp8(const gemm::Isa& isa, KernelPath path, size_t N, size_t K, size_t Kp, void* out, const uint8_t* B) {
  if (fp8_pairs_simd(isa, path, false)) {
    parallel_for(ceil_div(N, kNR), 1, [&](size_t p0, size_t p1) {
      for (size_t p = p0; p < p1; ++p)
        gemm::pack_pairs_fp8_avx512(B + p * kNR * K, K, K, std::min<size_t>(kNR, N - p * kNR), kNR, Kp,
                                    static_cast<uint32_t*>(out) + p * kNR * Kp / 2);
    });
    return;
  }
  const uint16_t* lut = fp8_to_bf16_table(Fp8Format::E4M3);
  pack_b(isa, N, K, Kp, out, [&](size_t r, size_t k) { return lut[B[r * K + k]]; });
}

// The packers above from transposed sources (codes stored [K, rows]): row r of the operand is column r of src.
void pack_a_fp8_t(const gemm::Isa& isa, KernelPath path, size_t rows, size_t K, size_t Kp, void* out, const uint8_t* A) {
  if (fp8_pairs_simd(isa, path, true)) {
    const size_t mr = isa.mr;
    parallel_for(ceil_div(rows, mr), 1, [&](size_t p0, size_t p1) {
      for (size_t p = p0; p < p1; ++p)
        gemm::pack_pairs_t_fp8_avx512(A + p * mr, rows, K, std::min(mr, rows - p * mr), mr, Kp,
                                      static_cast<uint32_t*>(out) + p * mr * Kp / 2);
    });
    return;
  }
  const uint16_t* lut = fp8_to_bf16_table(Fp8Format::E4M3);
  pack_a(isa, rows, K, Kp, out, [&](size_t r, size_t k) { return lut[A[k * rows + r]]; });
}

void pack_b_fp8_t(const gemm::Isa& isa, KernelPath path, size_t N, size_t K, size_t Kp, void* out, const uint8_t* B) {
  if (fp8_pairs_simd(isa, path, false)) {
    parallel_for(ceil_div(N, kNR), 1, [&](size_t p0, size_t p1) {
      for (size_t p = p0; p < p1; ++p)
        gemm::pack_pairs_t_fp8_avx512(B + p * kNR, N, K, std::min<size_t>(kNR, N - p * kNR), kNR, Kp,
                                      static_cast<uint32_t*>(out) + p * kNR * Kp / 2);
    });
    return;
  }
  const uint16_t* lut = fp8_to_bf16_table(Fp8Format::E4M3);
  pack_b(isa, N, K, Kp, out, [&](size_t r, size_t k) { return lut[B[k * N + r]]; });
}

// C[rows, N] (fp32, zeroed by the caller) += packed A . packed B^T with per-slice promotion.
void run_packed(const gemm::Isa& isa, const void* Ap_v, const float* a_scale, const void* Bp_v,
                const float* b_scale, size_t rows, size_t N, size_t K, float* C) {
  const size_t KB = ceil_div(K, kKB), Kp = KB * kKB, k_last = K - (KB - 1) * kKB;
  const size_t esz = isa.layout == gemm::ALayout::kF32 ? 4 : 2;
  const uint8_t* Ap = static_cast<const uint8_t*>(Ap_v);
  const uint8_t* Bp = static_cast<const uint8_t*>(Bp_v);
  const size_t P = ceil_div(N, kNR), MP = ceil_div(rows, isa.mr);
  // Split the output into a grid of (row-panel chunks x column-panel chunks): columns first.
  const size_t T = static_cast<size_t>(num_threads());
  size_t pchunks = std::min(P, T), mchunks = std::max<size_t>(1, std::min(MP, T / pchunks));
  if (pchunks < T && MP >= 2 * T) {  // few column panels: split rows instead
    pchunks = 1;
    mchunks = T;
  }
  parallel_for(pchunks * mchunks, 1, [&](size_t c0, size_t c1) {
    if (isa.thread_begin) isa.thread_begin();
    for (size_t c = c0; c < c1; ++c) {
      size_t pc = c % pchunks, mc = c / pchunks;
      size_t pb = P * pc / pchunks, pe = P * (pc + 1) / pchunks;
      size_t mpb = MP * mc / mchunks, mpe = MP * (mc + 1) / mchunks;
      for (size_t kc = 0; kc < KB; kc += isa.kc_slices) {
        size_t kn = std::min(isa.kc_slices, KB - kc);
        // Row panels in blocks of ~256 KiB of packed A, so the A block, its C rows and the B block stay in L2
        // together: with every row panel in one pass (M = 1024 tokens of a prefill) A and C streamed the B block out
        // of L2 and it came back from L3 once per row panel.
        const size_t mblock = std::max<size_t>(1, (size_t{256} << 10) / (isa.mr * kn * kKB * esz));
        for (size_t mb = mpb; mb < mpe; mb += mblock)
        for (size_t p0 = pb; p0 < pe; p0 += isa.panels_per_block) {
          size_t p1 = std::min(pe, p0 + isa.panels_per_block);
          for (size_t mp = mb; mp < std::min(mpe, mb + mblock); ++mp) {
            size_t m = mp * isa.mr;
            int mr = static_cast<int>(std::min<size_t>(isa.mr, rows - m));
            const uint8_t* a = Ap + (m * Kp + kc * kKB * isa.mr) * esz;
            for (size_t p = p0; p < p1; ++p) {
              size_t n0 = p * kNR;
              int nvalid = static_cast<int>(std::min<size_t>(kNR, N - n0));
              const void* b = Bp + (p * kNR * Kp + kc * kKB * kNR) * esz;
              if (isa.micro_tail && kc + kn == KB && k_last < kKB)
                isa.micro_tail(mr, a, b, kn, a_scale + m * KB + kc, KB, b_scale + (n0 / kKB) * KB + kc, C + m * N + n0,
                               N, nvalid, k_last);
              else
                isa.micro(mr, a, b, kn, a_scale + m * KB + kc, KB, b_scale + (n0 / kKB) * KB + kc, C + m * N + n0, N,
                          nvalid);
            }
          }
        }
      }
    }
    if (isa.thread_end) isa.thread_end();
  });
}

void store_out(const float* acc, size_t n, OutType t, void* C) {
  if (t == OutType::F32) {
    if (acc != C) std::memcpy(C, acc, n * 4);
    return;
  }
  uint16_t* o = static_cast<uint16_t*>(C);
  parallel_for(n, 1 << 16, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) o[i] = f32_to_bf16(acc[i]);
  });
}

// Scalar reference: the recipe literally, one output at a time.
void ref_fp8_gemm(const uint8_t* A, const float* as, const uint8_t* B, const float* bs, size_t M,
                  size_t N, size_t K, float* C) {
  const size_t KB = ceil_div(K, kKB);
  for (size_t m = 0; m < M; ++m)
    for (size_t n = 0; n < N; ++n) {
      float out = 0.0f;
      for (size_t kb = 0; kb < KB; ++kb) {
        float slice = 0.0f;
        for (size_t k = kb * kKB; k < std::min(K, (kb + 1) * kKB); ++k)
          slice += ref_fp8_to_f32(A[m * K + k], Fp8Format::E4M3) * ref_fp8_to_f32(B[n * K + k], Fp8Format::E4M3);
        out = std::fma(slice, as[m * KB + kb] * bs[(n / kKB) * KB + kb], out);
      }
      C[m * N + n] = out;
    }
}

void fast_fp8_gemm(const uint8_t* A, const float* as, const uint8_t* B, const float* bs, size_t M,
                   size_t N, size_t K, float* C, KernelPath path) {
  const size_t KB = ceil_div(K, kKB), Kp = KB * kKB;
  const gemm::Isa isa = isa_for(path);
  Packed ap(packed_a_size(isa, M, Kp), isa), bp(ceil_div(N, kNR) * kNR * Kp, isa);
  pack_a_fp8(isa, path, M, K, Kp, ap.get(), A);
  pack_b_fp8(isa, path, N, K, Kp, bp.get(), B);
  run_packed(isa, ap.get(), as, bp.get(), bs, M, N, K, C);
}

// Output accumulator: C itself for f32, a temporary for bf16. Zeroed.
struct Acc {
  std::vector<float> tmp;
  float* p;
  Acc(size_t n, OutType t, void* C) {
    if (t == OutType::F32) p = static_cast<float*>(C);
    else { tmp.resize(n); p = tmp.data(); }
    std::fill(p, p + n, 0.0f);
  }
};

}  // namespace

void fp8_gemm(const uint8_t* A, const float* as, const uint8_t* B, const float* bs, size_t M, size_t N,
              size_t K, OutType t, void* C) {
  Acc acc(M * N, t, C);
  if (M && N && K) {
    KernelPath path = current_path();
    if (path == KernelPath::Reference) ref_fp8_gemm(A, as, B, bs, M, N, K, acc.p);
    else fast_fp8_gemm(A, as, B, bs, M, N, K, acc.p, path);
  }
  store_out(acc.p, M * N, t, C);
}

namespace {
// C [M, N] += A . B^T on operands that may be stored transposed (fp8_gemm_t's layouts).
void gemm_t_into(const uint8_t* A, const float* as, bool ta, const uint8_t* B, const float* bs, bool tb, size_t M,
                 size_t N, size_t K, float* C) {
  if (!(M && N && K)) return;
  const KernelPath path = current_path();
  if (path == KernelPath::Reference) {
    // The oracle on the transposed copies.
    auto untranspose = [K](const uint8_t* src, size_t rows) {
      std::vector<uint8_t> out(rows * K);
      for (size_t k = 0; k < K; ++k)
        for (size_t r = 0; r < rows; ++r) out[r * K + k] = src[k * rows + r];
      return out;
    };
    std::vector<uint8_t> at, bt;
    if (ta) at = untranspose(A, M);
    if (tb) bt = untranspose(B, N);
    std::vector<float> y(M * N);
    ref_fp8_gemm(ta ? at.data() : A, as, tb ? bt.data() : B, bs, M, N, K, y.data());
    for (size_t i = 0; i < M * N; ++i) C[i] += y[i];
    return;
  }
  const size_t KB = ceil_div(K, kKB), Kp = KB * kKB;
  const gemm::Isa isa = isa_for(path);
  Packed ap(packed_a_size(isa, M, Kp), isa), bp(ceil_div(N, kNR) * kNR * Kp, isa);
  if (ta) pack_a_fp8_t(isa, path, M, K, Kp, ap.get(), A);
  else pack_a_fp8(isa, path, M, K, Kp, ap.get(), A);
  if (tb) pack_b_fp8_t(isa, path, N, K, Kp, bp.get(), B);
  else pack_b_fp8(isa, path, N, K, Kp, bp.get(), B);
  run_packed(isa, ap.get(), as, bp.get(), bs, M, N, K, C);
}
}  // namespace

void fp8_gemm_t(const uint8_t* A, const float* as, bool ta, const uint8_t* B, const float* bs, bool tb, size_t M,
                size_t N, size_t K, OutType t, void* C) {
  if (!ta && !tb) return fp8_gemm(A, as, B, bs, M, N, K, t, C);
  Acc acc(M * N, t, C);
  gemm_t_into(A, as, ta, B, bs, tb, M, N, K, acc.p);
  store_out(acc.p, M * N, t, C);
}

void fp8_gemm_t_acc(const uint8_t* A, const float* as, bool ta, const uint8_t* B, const float* bs, bool tb, size_t M,
                    size_t N, size_t K, float alpha, float* C) {
  std::vector<float> scaled;
  if (alpha != 1.0f) {
    const size_t n = M * ceil_div(K, kKB);
    scaled.resize(n);
    for (size_t i = 0; i < n; ++i) scaled[i] = as[i] * alpha;
    as = scaled.data();
  }
  gemm_t_into(A, as, ta, B, bs, tb, M, N, K, C);
}

void fp8_gemm_grouped(const uint8_t* A, const float* as, const uint8_t* B, const float* bs,
                      const int32_t* offsets, size_t E, size_t N, size_t K, OutType t, void* C) {
  const size_t rows = E ? static_cast<size_t>(offsets[E]) : 0;
  const size_t KB = ceil_div(K, kKB), NB = ceil_div(N, kKB), Kp = KB * kKB;
  Acc acc(rows * N, t, C);
  KernelPath path = current_path();
  if (rows && N && K) {
    if (path == KernelPath::Reference) {
      for (size_t e = 0; e < E; ++e) {
        size_t r0 = offsets[e], r1 = offsets[e + 1];
        ref_fp8_gemm(A + r0 * K, as + r0 * KB, B + e * N * K, bs + e * NB * KB, r1 - r0, N, K, acc.p + r0 * N);
      }
    } else {
      const gemm::Isa isa = isa_for(path);
      size_t max_rows = 0;
      for (size_t e = 0; e < E; ++e) max_rows = std::max<size_t>(max_rows, offsets[e + 1] - offsets[e]);
      Packed ap(packed_a_size(isa, max_rows, Kp), isa), bp(ceil_div(N, kNR) * kNR * Kp, isa);
      for (size_t e = 0; e < E; ++e) {
        size_t r0 = offsets[e], r1 = offsets[e + 1];
        if (r1 == r0) continue;
        const uint8_t* Ae = A + r0 * K;
        const uint8_t* Be = B + e * N * K;
        pack_a_fp8(isa, path, r1 - r0, K, Kp, ap.get(), Ae);
        pack_b_fp8(isa, path, N, K, Kp, bp.get(), Be);
        run_packed(isa, ap.get(), as + r0 * KB, bp.get(), bs + e * NB * KB, r1 - r0, N, K, acc.p + r0 * N);
      }
    }
  }
  store_out(acc.p, rows * N, t, C);
}

size_t fp8_packed_weight_bytes(KernelPath path, size_t N, size_t K) {
  if (path == KernelPath::Reference) return N * K;
  const gemm::Isa isa = isa_for(path);
  return ceil_div(N, kNR) * kNR * ceil_div(K, kKB) * kKB * (isa.layout == gemm::ALayout::kF32 ? 4 : 2);
}

void fp8_pack_weights(const uint8_t* B, size_t E, size_t N, size_t K, KernelPath path, uint8_t* out) {
  const size_t bytes = fp8_packed_weight_bytes(path, N, K), Kp = ceil_div(K, kKB) * kKB;
  for (size_t e = 0; e < E; ++e) {
    const uint8_t* Be = B + e * N * K;
    if (path == KernelPath::Reference) {
      std::memcpy(out + e * bytes, Be, N * K);
      continue;
    }
    pack_b_fp8(isa_for(path), path, N, K, Kp, out + e * bytes, Be);
  }
}

void fp8_gemm_grouped_packed(const uint8_t* A, const float* as, const uint8_t* packed, const float* bs,
                             const int32_t* offsets, size_t E, size_t N, size_t K, KernelPath path, OutType t,
                             void* C) {
  const size_t rows = E ? static_cast<size_t>(offsets[E]) : 0;
  const size_t KB = ceil_div(K, kKB), NB = ceil_div(N, kKB), Kp = KB * kKB;
  const size_t bytes = fp8_packed_weight_bytes(path, N, K);
  Acc acc(rows * N, t, C);
  if (rows && N && K) {
    if (path == KernelPath::Reference) {
      for (size_t e = 0; e < E; ++e) {
        size_t r0 = offsets[e], r1 = offsets[e + 1];
        ref_fp8_gemm(A + r0 * K, as + r0 * KB, packed + e * bytes, bs + e * NB * KB, r1 - r0, N, K, acc.p + r0 * N);
      }
    } else {
      const gemm::Isa isa = isa_for(path);
      size_t max_rows = 0;
      for (size_t e = 0; e < E; ++e) max_rows = std::max<size_t>(max_rows, offsets[e + 1] - offsets[e]);
      Packed ap(packed_a_size(isa, max_rows, Kp), isa);
      for (size_t e = 0; e < E; ++e) {
        size_t r0 = offsets[e], r1 = offsets[e + 1];
        if (r1 == r0) continue;
        const uint8_t* Ae = A + r0 * K;
        pack_a_fp8(isa, path, r1 - r0, K, Kp, ap.get(), Ae);
        run_packed(isa, ap.get(), as + r0 * KB, packed + e * bytes, bs + e * NB * KB, r1 - r0, N, K, acc.p + r0 * N);
      }
    }
  }
  store_out(acc.p, rows * N, t, C);
}

void bf16_gemm(const uint16_t* A, const uint16_t* B, size_t M, size_t N, size_t K, OutType t, void* C) {
  Acc acc(M * N, t, C);
  KernelPath path = current_path();
  if (M && N && K) {
    if (path == KernelPath::Reference) {
      for (size_t m = 0; m < M; ++m)
        for (size_t n = 0; n < N; ++n) {
          float s = 0.0f;
          for (size_t k = 0; k < K; ++k) s += bf16_to_f32(A[m * K + k]) * bf16_to_f32(B[n * K + k]);
          acc.p[m * N + n] = s;
        }
    } else {
      const size_t KB = ceil_div(K, kKB), Kp = KB * kKB;
      const gemm::Isa isa = isa_for(path);
      Packed ap(packed_a_size(isa, M, Kp), isa), bp(ceil_div(N, kNR) * kNR * Kp, isa);
      pack_a(isa, M, K, Kp, ap.get(), [&](size_t r, size_t k) { return A[r * K + k]; });
      pack_b(isa, N, K, Kp, bp.get(), [&](size_t r, size_t k) { return B[r * K + k]; });
      std::vector<float> ones_a(M * KB, 1.0f), ones_b(ceil_div(N, kKB) * KB, 1.0f);
      run_packed(isa, ap.get(), ones_a.data(), bp.get(), ones_b.data(), M, N, K, acc.p);
    }
  }
  store_out(acc.p, M * N, t, C);
}

void bf16_gemm_f32(const float* A, bool ta, const float* B, bool tb, size_t M, size_t N, size_t K, bool accumulate,
                   float* C) {
  if (!accumulate) std::fill(C, C + M * N, 0.0f);
  if (!(M && N && K)) return;
  auto a_at = [&](size_t r, size_t k) { return f32_to_bf16(ta ? A[k * M + r] : A[r * K + k]); };
  auto b_at = [&](size_t r, size_t k) { return f32_to_bf16(tb ? B[k * N + r] : B[r * K + k]); };
  const KernelPath path = current_path();
  if (path == KernelPath::Reference) {  // bf16_gemm's reference on the rounded operands
    for (size_t m = 0; m < M; ++m)
      for (size_t n = 0; n < N; ++n) {
        float s = 0.0f;
        for (size_t k = 0; k < K; ++k) s += bf16_to_f32(a_at(m, k)) * bf16_to_f32(b_at(n, k));
        C[m * N + n] += s;
      }
    return;
  }
  const size_t KB = ceil_div(K, kKB), Kp = KB * kKB;
  const gemm::Isa isa = isa_for(path);
  Packed ap(packed_a_size(isa, M, Kp), isa), bp(ceil_div(N, kNR) * kNR * Kp, isa);
  // kPairs panels by the vector rounding and register transposes on AVX-512 (as the FP8 packers), else per element.
  if (fp8_pairs_simd(isa, path, true)) {
    const size_t mr = isa.mr;
    parallel_for(ceil_div(M, mr), 1, [&](size_t p0, size_t p1) {
      for (size_t p = p0; p < p1; ++p) {
        uint32_t* o = static_cast<uint32_t*>(ap.get()) + p * mr * Kp / 2;
        const size_t nr = std::min(mr, M - p * mr);
        if (ta) gemm::pack_pairs_t_f32_avx512(A + p * mr, M, K, nr, mr, Kp, o);
        else gemm::pack_pairs_f32_avx512(A + p * mr * K, K, K, nr, mr, Kp, o);
      }
    });
  } else {
    pack_a(isa, M, K, Kp, ap.get(), a_at);
  }
  if (fp8_pairs_simd(isa, path, false)) {
    parallel_for(ceil_div(N, kNR), 1, [&](size_t p0, size_t p1) {
      for (size_t p = p0; p < p1; ++p) {
        uint32_t* o = static_cast<uint32_t*>(bp.get()) + p * kNR * Kp / 2;
        const size_t nr = std::min<size_t>(kNR, N - p * kNR);
        if (tb) gemm::pack_pairs_t_f32_avx512(B + p * kNR, N, K, nr, kNR, Kp, o);
        else gemm::pack_pairs_f32_avx512(B + p * kNR * K, K, K, nr, kNR, Kp, o);
      }
    });
  } else {
    pack_b(isa, N, K, Kp, bp.get(), b_at);
  }
  std::vector<float> ones_a(M * KB, 1.0f), ones_b(ceil_div(N, kKB) * KB, 1.0f);
  run_packed(isa, ap.get(), ones_a.data(), bp.get(), ones_b.data(), M, N, K, C);
}

namespace {
// Truncate x to `bits` explicit mantissa bits (round toward zero), as a narrow accumulator does.
inline float truncate_mantissa(float x, int bits) {
  if (bits >= 23) return x;
  uint32_t u = f32_bits(x);
  u &= ~((1u << (23 - bits)) - 1u);
  return bits_f32(u);
}
}  // namespace

void fp8_gemm_emulated(const uint8_t* A, const float* as, const uint8_t* B, const float* bs, size_t M,
                       size_t N, size_t K, int bits, size_t interval, size_t group, float* C) {
  const size_t KB = ceil_div(K, kKB);
  const float* lut = fp8_to_f32_table(Fp8Format::E4M3);
  parallel_for(M * N, 16, [&](size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; ++i) {
      size_t m = i / N, n = i % N;
      float out = 0.0f, acc = 0.0f;
      for (size_t g0 = 0; g0 < K; g0 += group) {
        float f = as[m * KB + g0 / kKB] * bs[(n / kKB) * KB + g0 / kKB];
        float part = 0.0f;  // one MMA step: products exact, summed in fp32
        for (size_t k = g0; k < std::min(K, g0 + group); ++k) part += lut[A[m * K + k]] * lut[B[n * K + k]];
        size_t k_end = std::min(K, g0 + group);
        if (interval == 0) {
          acc = truncate_mantissa(acc + part * f, bits);
        } else {
          acc = truncate_mantissa(acc + part, bits);
          if (k_end % interval == 0 || k_end == K) {
            out += acc * f;
            acc = 0.0f;
          }
        }
      }
      C[i] = interval == 0 ? acc : out;
    }
  });
}

}  // namespace moe
