// FP8 block-scaled GEMM, its grouped (MoE) variant and a BF16 GEMM. No V8/nan here.
//
// C[M,N] = A[M,K] . B[N,K]^T. FP8 operands are E4M3 with the scale layouts of quant.h: A by 1x128
// tiles (a_scale [M, KB]), B by 128x128 blocks (b_scale [NB, KB]), KB = ceil(K/128), NB = ceil(N/128).
// Each 128-wide K slice is summed in fp32 and then promoted: C += slice * (a_scale * b_scale).
#pragma once
#include <cstddef>
#include <cstdint>

#include "cpu.h"

namespace moe {

enum class OutType { F32 = 0, BF16 = 1 };

void fp8_gemm(const uint8_t* A, const float* a_scale, const uint8_t* B, const float* b_scale,
              size_t M, size_t N, size_t K, OutType out_type, void* C);

// Grouped contiguous layout: expert e owns rows [offsets[e], offsets[e+1]) of A and C, and uses
// B + e*N*K with b_scale + e*NB*KB. offsets has E+1 non-decreasing entries, offsets[0] = 0.
void fp8_gemm_grouped(const uint8_t* A, const float* a_scale, const uint8_t* B, const float* b_scale,
                      const int32_t* offsets, size_t E, size_t N, size_t K, OutType out_type, void* C);

// fp8_gemm with either operand given transposed: trans_a: A's codes stored [K, M] (row-major), trans_b: B's stored
// [K, N]; the scales keep the untransposed layouts above (a_scale [M, KB], b_scale [NB, KB]). The packed panels are
// the untransposed operands' panels, so the result is fp8_gemm's on the transposed copies, bit for bit, without
// making them (the training backward's dgrad and wgrad operands).
void fp8_gemm_t(const uint8_t* A, const float* a_scale, bool trans_a, const uint8_t* B, const float* b_scale,
                bool trans_b, size_t M, size_t N, size_t K, OutType out_type, void* C);
// C [M, N] (float32, kept) += alpha * A . B^T, alpha folded into A's scales (exact for the powers of two of the
// training's gradient rescale): the backward accumulates into dx and dW without an output array and a second pass.
void fp8_gemm_t_acc(const uint8_t* A, const float* a_scale, bool trans_a, const uint8_t* B, const float* b_scale,
                    bool trans_b, size_t M, size_t N, size_t K, float alpha, float* C);

// Weights packed once for the micro-kernels of `path` (inference: static weights skip the per-call
// decode and packing). Bytes for one [N,K] matrix; E stacked matrices take E times that.
size_t fp8_packed_weight_bytes(KernelPath path, size_t N, size_t K);
void fp8_pack_weights(const uint8_t* B, size_t E, size_t N, size_t K, KernelPath path, uint8_t* out);
// fp8_gemm_grouped on weights packed for `path` (which must be runnable here); E = 1 with
// offsets {0, M} is the plain GEMM. Same results as the unpacked calls on the same path.
void fp8_gemm_grouped_packed(const uint8_t* A, const float* a_scale, const uint8_t* packed, const float* b_scale,
                             const int32_t* offsets, size_t E, size_t N, size_t K, KernelPath path,
                             OutType out_type, void* C);

// C = A . B^T with A [M,K], B [N,K] bfloat16, fp32 accumulation.
void bf16_gemm(const uint16_t* A, const uint16_t* B, size_t M, size_t N, size_t K, OutType out_type, void* C);
// The same on float32 operands rounded to bfloat16 as they are packed, either stored transposed (ta: A kept [K, M],
// tb: B kept [K, N]); C [M, N] overwritten, or added to when `accumulate`. The BF16 training mode's forward, dgrad
// and wgrad without converted or transposed copies of their operands.
void bf16_gemm_f32(const float* A, bool ta, const float* B, bool tb, size_t M, size_t N, size_t K, bool accumulate,
                   float* C);

// Precision study: scalar FP8 GEMM whose accumulator keeps only acc_mant_bits explicit mantissa
// bits (truncated after every addition, as a limited tensor-core accumulator would). Products are
// first summed in fp32 over `group` consecutive K (1: every product; 32: one Hopper FP8 MMA step),
// then added into the narrow accumulator, which is promoted into fp32 every `interval` elements of
// K (interval 0: never; the scales then multiply each group sum). interval and group divide 128.
void fp8_gemm_emulated(const uint8_t* A, const float* a_scale, const uint8_t* B, const float* b_scale,
                       size_t M, size_t N, size_t K, int acc_mant_bits, size_t interval, size_t group,
                       float* C);

// ---- internals shared by the drivers and the per-ISA micro-kernels ----
namespace gemm {
constexpr int kNR = 32;   // columns per packed B panel
constexpr int kKB = 128;  // K slice between promotions (and quantisation block)

// Packed operands (zero padded). A: panels of `mr` rows, panel P at element P*mr*Kp. B: panels of
// 32 columns, panel p at element p*32*Kp. Inside a panel, by layout:
//   kPairs (bf16): A (k/2)*mr*2 + r*2 + (k&1), B (k/2)*64 + c*2 + (k&1)   (AVX2 kernel; AMX B)
//   kTiles (bf16): A (k/32)*mr*32 + r*32 + (k%32), B as kPairs            (16x32 AMX tiles, mr = 32)
//   kF32 (float):  A k*mr + r,                     B k*32 + c             (AVX-512 FMA kernel)
enum class ALayout { kPairs, kTiles, kF32 };

// Micro-kernel: rows [0,mr) of one packed A panel and one packed B panel (both already offset
// to the first K slice), kb_count slices; adds sum_kb slice * a_scale[i*as_stride+kb] * b_scale[kb]
// into C (row stride ldc), columns [0, nvalid).
using MicroKernel = void (*)(int mr, const void* Ap, const void* Bp, size_t kb_count,
                             const float* a_scale, size_t as_stride, const float* b_scale, float* C,
                             size_t ldc, int nvalid);
struct Isa {
  int mr;                 // rows per A panel
  ALayout layout;         // also decides the element type: float for kF32, bf16 bits otherwise
  MicroKernel micro;
  void (*thread_begin)();  // per-thread setup before micro calls (AMX tile config), may be null
  void (*thread_end)();
  // Cache blocking: K slices per block (B block = panels_per_block panels x kc_slices*128 K stays in
  // L2 while every A panel of the range streams past it).
  size_t kc_slices = 4;
  size_t panels_per_block = 8;
  // Optional: micro whose last slice stops after k_last (1..128) valid K instead of running its zero padding.
  void (*micro_tail)(int mr, const void* Ap, const void* Bp, size_t kb_count, const float* a_scale, size_t as_stride,
                     const float* b_scale, float* C, size_t ldc, int nvalid, size_t k_last) = nullptr;
};
Isa isa_avx512();
Isa isa_avx512_bf16();  // AVX512_BF16 vdpbf16ps on kPairs (gemm_avx512bf16.cc)
Isa isa_avx2();
Isa isa_amx();
// FP8 (E4M3) codes of `nr` rows (row stride ld, K valid columns) -> one kPairs panel of `w` rows as 32-bit pairs:
// out[kp*w + r] = bf16(src[r][2kp]) | bf16(src[r][2kp+1]) << 16, zero padded to w rows and Kp (a multiple of 32).
// AVX-512 F/BW/VL (gemm_pack_avx512.cc); the same bits as the drivers' per-element table packing.
void pack_pairs_fp8_avx512(const uint8_t* src, size_t ld, size_t K, size_t nr, size_t w, size_t Kp, uint32_t* out);
// The same panel from the transposed source: row r of the panel is column r of src [K rows, stride ld], nr <= w <= 32.
void pack_pairs_t_fp8_avx512(const uint8_t* src, size_t ld, size_t K, size_t nr, size_t w, size_t Kp, uint32_t* out);
// The same panels from float32 sources rounded to bfloat16 (fp8.h f32_to_bf16's bits): the BF16 training GEMM.
void pack_pairs_f32_avx512(const float* src, size_t ld, size_t K, size_t nr, size_t w, size_t Kp, uint32_t* out);
void pack_pairs_t_f32_avx512(const float* src, size_t ld, size_t K, size_t nr, size_t w, size_t Kp, uint32_t* out);
}  // namespace gemm

}  // namespace moe
