// Bindings: float32 helpers (RMSNorm, SwiGLU, softmax, RoPE) and the serving engine's row kernels.
#include "bind.h"
#include "bind_util.h"
#include "ops.h"
#include "serve_ops.h"

namespace moe {
namespace bind {

// rmsnorm(x [T*D], w [D], T, D, eps, y [T*D], cb?)
NAN_METHOD(RmsNorm) {
  Args a(info, "rmsnorm");
  size_t T = a.size(2, "T"), D = a.size(3, "D");
  double eps = a.number(4, "eps");
  if (a.ok() && !(eps > 0)) a.fail("eps must be > 0");
  const float* x = a.array<float>(0, "x", a.mul(T, D, "T*D"));
  const float* w = a.array<float>(1, "w", D);
  float* y = a.array<float>(5, "y", T * D);
  if (!a.ok()) return;
  run_or_queue(info, 6, "rmsnorm", [=] { rmsnorm(x, w, T, D, static_cast<float>(eps), y); return std::string(); });
}

// swiglu(gate [n], up [n], y [n], cb?)
NAN_METHOD(SwiGlu) {
  Args a(info, "swiglu");
  size_t n = info[0]->IsFloat32Array() ? Nan::TypedArrayContents<float>(info[0]).length() : 0;
  const float* g = a.array<float>(0, "gate", n);
  const float* u = a.array<float>(1, "up", n);
  float* y = a.array<float>(2, "y", n);
  if (!a.ok()) return;
  run_or_queue(info, 3, "swiglu", [=] { swiglu(g, u, n, y); return std::string(); });
}

// softmax(x [T*D], T, D, y [T*D], cb?)
NAN_METHOD(Softmax) {
  Args a(info, "softmax");
  size_t T = a.size(1, "T"), D = a.size(2, "D");
  const float* x = a.array<float>(0, "x", a.mul(T, D, "T*D"));
  float* y = a.array<float>(3, "y", T * D);
  if (!a.ok()) return;
  run_or_queue(info, 4, "softmax", [=] { softmax(x, T, D, y); return std::string(); });
}

// rope(x [T*H*Dr], pos: Int32Array [T], T, H, Dr, theta, y [T*H*Dr], cb?)
NAN_METHOD(Rope) {
  Args a(info, "rope");
  size_t T = a.size(2, "T"), H = a.size(3, "H"), Dr = a.size(4, "Dr");
  double theta = a.number(5, "theta");
  if (a.ok() && Dr % 2) a.fail("Dr must be even, got " + std::to_string(Dr));
  if (a.ok() && !(theta > 1)) a.fail("theta must be > 1");
  const float* x = a.array<float>(0, "x", a.mul(a.mul(T, H, "T*H"), Dr, "T*H*Dr"));
  const int32_t* pos = a.array<int32_t>(1, "pos", T);
  float* y = a.array<float>(6, "y", T * H * Dr);
  if (!a.ok()) return;
  run_or_queue(info, 7, "rope", [=] { rope(x, pos, T, H, Dr, static_cast<float>(theta), y); return std::string(); });
}

// siluMulRows(y [T*ld], T, ld, g0, u0, n, out [T*n], cb?): out[t,i] = silu(y[t,g0+i]) * y[t,u0+i]
NAN_METHOD(SiluMulRows) {
  Args a(info, "siluMulRows");
  size_t T = a.size(1, "T"), ld = a.size(2, "ld"), g0 = a.size(3, "g0"), u0 = a.size(4, "u0"), n = a.size(5, "n");
  if (a.ok() && (g0 + n > ld || u0 + n > ld)) a.fail("columns [g0, g0+n) and [u0, u0+n) must lie in a row of ld = " + std::to_string(ld));
  const float* y = a.array<float>(0, "y", a.mul(T, ld, "T*ld"));
  float* out = a.array<float>(6, "out", a.mul(T, n, "T*n"));
  if (!a.ok()) return;
  run_or_queue(info, 7, "siluMulRows", [=] { silu_mul_rows(y, T, ld, g0, u0, n, out); return std::string(); });
}

// matmulTF64(x [T*in], wt: Float64Array [in*out], T, in, out, y [T*out], cb?): training matmulT's exact result
NAN_METHOD(MatmulTF64) {
  Args a(info, "matmulTF64");
  size_t T = a.size(2, "T"), in = a.size(3, "in"), out = a.size(4, "out");
  const float* x = a.array<float>(0, "x", a.mul(T, in, "T*in"));
  const double* wt = a.array<double>(1, "wt", a.mul(in, out, "in*out"));
  float* y = a.array<float>(5, "y", a.mul(T, out, "T*out"));
  if (!a.ok()) return;
  run_or_queue(info, 6, "matmulTF64", [=] { matmul_t_f64(x, wt, T, in, out, y); return std::string(); });
}

// Optional Float32Array argument: null/undefined gives nullptr.
static const float* optional_f32(Args& a, int i, const char* name, size_t n) {
  if (a.ok() && i < a.info().Length() && a.info()[i]->IsNullOrUndefined()) return nullptr;
  return a.array<float>(i, name, n);
}

// rmsnormRows(x [T*d], a [T*d] | null, w [d], T, d, eps, sum [T*d] | null, y [T*d]): the training rmsnorm's bits,
// of x + a when a is given (the sum written to `sum`)
NAN_METHOD(RmsNormRows) {
  Args a(info, "rmsnormRows");
  size_t T = a.size(3, "T"), d = a.size(4, "d");
  double eps = a.number(5, "eps");
  if (a.ok() && !(eps > 0)) a.fail("eps must be > 0");
  size_t n = a.mul(T, d, "T*d");
  const float* x = a.array<float>(0, "x", n);
  const float* r = optional_f32(a, 1, "a", n);
  const float* w = a.array<float>(2, "w", d);
  float* sum = const_cast<float*>(optional_f32(a, 6, "sum", n));
  float* y = a.array<float>(7, "y", n);
  if (a.ok() && (r == nullptr) != (sum == nullptr)) a.fail("a and sum must be given together");
  if (!a.ok()) return;
  rmsnorm_rows(x, r, w, T, d, eps, sum, y);
}

// moeCombineRows(ys [rows*d], pairOf: Int32Array [rows], weight: Float64Array [T*K], rows, K, d, shared [T*d] | null, T, y [T*d])
NAN_METHOD(MoeCombineRows) {
  Args a(info, "moeCombineRows");
  size_t rows = a.size(3, "rows"), K = a.size(4, "K"), d = a.size(5, "d"), T = a.size(7, "T");
  if (a.ok() && K == 0) a.fail("K must be > 0");
  const float* ys = a.array<float>(0, "ys", a.mul(rows, d, "rows*d"));
  const int32_t* pairOf = a.array<int32_t>(1, "pairOf", rows);
  const double* weight = a.array<double>(2, "weight", a.mul(T, K, "T*K"));
  const float* shared = optional_f32(a, 6, "shared", a.mul(T, d, "T*d"));
  float* y = a.array<float>(8, "y", a.mul(T, d, "T*d"));
  if (!a.ok()) return;
  for (size_t i = 0; i < rows; ++i)
    if (pairOf[i] < 0 || static_cast<size_t>(pairOf[i]) >= T * K) return a.fail("pairOf[" + std::to_string(i) + "] = " + std::to_string(pairOf[i]) + " is outside [0, T*K)");
  moe_combine_rows(ys, pairOf, weight, rows, K, d, shared, T, y);
}

// gatherPairRows(x [T*d], pairOf: Int32Array [rows], rows, K, d, T, out [rows*d])
NAN_METHOD(GatherPairRows) {
  Args a(info, "gatherPairRows");
  size_t rows = a.size(2, "rows"), K = a.size(3, "K"), d = a.size(4, "d"), T = a.size(5, "T");
  if (a.ok() && K == 0) a.fail("K must be > 0");
  const float* x = a.array<float>(0, "x", a.mul(T, d, "T*d"));
  const int32_t* pairOf = a.array<int32_t>(1, "pairOf", rows);
  float* out = a.array<float>(6, "out", a.mul(rows, d, "rows*d"));
  if (!a.ok()) return;
  for (size_t i = 0; i < rows; ++i)
    if (pairOf[i] < 0 || static_cast<size_t>(pairOf[i]) >= T * K) return a.fail("pairOf[" + std::to_string(i) + "] = " + std::to_string(pairOf[i]) + " is outside [0, T*K)");
  gather_pair_rows(x, pairOf, rows, K, d, out);
}

// addRows(a [n], b [n], out [n])
NAN_METHOD(AddRows) {
  Args a(info, "addRows");
  size_t n = info.Length() > 0 && info[0]->IsFloat32Array() ? Nan::TypedArrayContents<float>(info[0]).length() : 0;
  const float* x = a.array<float>(0, "a", n);
  const float* y = a.array<float>(1, "b", n);
  float* out = a.array<float>(2, "out", n);
  if (!a.ok()) return;
  add_rows(x, y, n, out);
}

}  // namespace bind
}  // namespace moe
