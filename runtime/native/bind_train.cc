// Bindings: the training ops of kernels/train_ops.h (synchronous: the trainer's step is synchronous).
#include "bind.h"
#include "bind_util.h"
#include "quant.h"
#include "gemm.h"
#include "train_ops.h"

namespace moe {
namespace bind {

namespace {
size_t len_f32(const Info& info, int i) { return info[i]->IsFloat32Array() ? Nan::TypedArrayContents<float>(info[i]).length() : 0; }
std::string nonfinite(long long at, const char* name) {
  return at < 0 ? std::string() : std::string(name) + " holds a non-finite value at flat index " + std::to_string(at);
}
// lo: an Int32Array of `n` or null/undefined.
const int32_t* optional_lo(Args& a, int i, size_t n) {
  if (!a.ok() || i >= a.info().Length() || a.info()[i]->IsNullOrUndefined()) return nullptr;
  return a.array<int32_t>(i, "lo", n);
}
}  // namespace

// trainAdamw(w, g: Float32Array [n], m, v: Uint16Array [n], lr, beta1, beta2, eps, wd, bc1, bc2)
NAN_METHOD(TrainAdamw) {
  Args a(info, "trainAdamw");
  size_t n = len_f32(info, 0);
  float* w = a.array<float>(0, "w", n);
  const float* g = a.array<float>(1, "g", n);
  uint16_t* m = a.array<uint16_t>(2, "m", n);
  uint16_t* v = a.array<uint16_t>(3, "v", n);
  double h[7];
  const char* names[7] = {"lr", "beta1", "beta2", "eps", "wd", "bc1", "bc2"};
  for (int i = 0; i < 7; ++i) h[i] = a.number(4 + i, names[i]);
  if (!a.ok()) return;
  train_adamw_bf16(w, g, m, v, n, h[0], h[1], h[2], h[3], h[4], h[5], h[6]);
}

// trainSumsq(x: Float32Array, init) -> init + sum of squares
NAN_METHOD(TrainSumsq) {
  Args a(info, "trainSumsq");
  const float* x = a.array<float>(0, "x", len_f32(info, 0));
  double init = a.number(1, "init");
  if (!a.ok()) return;
  info.GetReturnValue().Set(Nan::New(train_sumsq(x, len_f32(info, 0), init)));
}

// trainScale(x: Float32Array, f)
NAN_METHOD(TrainScale) {
  Args a(info, "trainScale");
  float* x = a.array<float>(0, "x", len_f32(info, 0));
  double f = a.number(1, "f");
  if (!a.ok()) return;
  train_scale(x, len_f32(info, 0), f);
}

// trainAxpy(dst, src: Float32Array [n], a): dst += src * a
NAN_METHOD(TrainAxpy) {
  Args a(info, "trainAxpy");
  size_t n = len_f32(info, 0);
  float* d = a.array<float>(0, "dst", n);
  const float* s = a.array<float>(1, "src", n);
  double f = a.number(2, "a");
  if (!a.ok()) return;
  train_axpy(d, s, n, static_cast<float>(f));
}

// trainAttnFwd(q, kv, kpe, lo|null, B, S, H, dn, dr, dv, scale, probs [B*H*S*S], o [T*H*dv])
NAN_METHOD(TrainAttnFwd) {
  Args a(info, "trainAttnFwd");
  size_t B = a.size(4, "B"), S = a.size(5, "S"), H = a.size(6, "H"), dn = a.size(7, "dn"), dr = a.size(8, "dr"), dv = a.size(9, "dv");
  double scale = a.number(10, "scale");
  size_t T = a.mul(B, S, "B*S");
  const float* q = a.array<float>(0, "q", a.mul(T, H * (dn + dr), "T*H*(dn+dr)"));
  const float* kv = a.array<float>(1, "kv", a.mul(T, H * (dn + dv), "T*H*(dn+dv)"));
  const float* kpe = a.array<float>(2, "kpe", a.mul(T, dr, "T*dr"));
  const int32_t* lo = optional_lo(a, 3, T);
  float* probs = a.array<float>(11, "probs", a.mul(a.mul(B * H, S, "B*H*S"), S, "B*H*S*S"));
  float* o = a.array<float>(12, "o", a.mul(T, H * dv, "T*H*dv"));
  if (!a.ok()) return;
  train_attn_fwd(q, kv, kpe, lo, B, S, H, dn, dr, dv, static_cast<float>(scale), probs, o);
}

// trainAttnBwd(q, kv, kpe, probs, dO, lo|null, B, S, H, dn, dr, dv, scale, dq, dkv, dkpe)
NAN_METHOD(TrainAttnBwd) {
  Args a(info, "trainAttnBwd");
  size_t B = a.size(6, "B"), S = a.size(7, "S"), H = a.size(8, "H"), dn = a.size(9, "dn"), dr = a.size(10, "dr"), dv = a.size(11, "dv");
  double scale = a.number(12, "scale");
  size_t T = a.mul(B, S, "B*S");
  size_t nq = a.mul(T, H * (dn + dr), "T*H*(dn+dr)"), nkv = a.mul(T, H * (dn + dv), "T*H*(dn+dv)");
  const float* q = a.array<float>(0, "q", nq);
  const float* kv = a.array<float>(1, "kv", nkv);
  const float* kpe = a.array<float>(2, "kpe", a.mul(T, dr, "T*dr"));
  const float* probs = a.array<float>(3, "probs", a.mul(a.mul(B * H, S, "B*H*S"), S, "B*H*S*S"));
  const float* dO = a.array<float>(4, "dO", a.mul(T, H * dv, "T*H*dv"));
  const int32_t* lo = optional_lo(a, 5, T);
  float* dq = a.array<float>(13, "dq", nq);
  float* dkv = a.array<float>(14, "dkv", nkv);
  float* dkpe = a.array<float>(15, "dkpe", T * dr);
  if (!a.ok()) return;
  train_attn_bwd(q, kv, kpe, probs, dO, lo, B, S, H, dn, dr, dv, static_cast<float>(scale), dq, dkv, dkpe);
}

// trainRmsnormFwd(x [T*D], w [D], T, D, eps, y [T*D], r: Float32Array [T])
NAN_METHOD(TrainRmsnormFwd) {
  Args a(info, "trainRmsnormFwd");
  size_t T = a.size(2, "T"), D = a.size(3, "D");
  double eps = a.number(4, "eps");
  size_t n = a.mul(T, D, "T*D");
  const float* x = a.array<float>(0, "x", n);
  const float* w = a.array<float>(1, "w", D);
  float* y = a.array<float>(5, "y", n);
  float* r = a.array<float>(6, "r", T);
  if (!a.ok()) return;
  train_rmsnorm_fwd(x, w, T, D, eps, y, r);
}

// trainRmsnormBwd(x, w, r, dy, T, D, dx, dw)
NAN_METHOD(TrainRmsnormBwd) {
  Args a(info, "trainRmsnormBwd");
  size_t T = a.size(4, "T"), D = a.size(5, "D");
  size_t n = a.mul(T, D, "T*D");
  const float* x = a.array<float>(0, "x", n);
  const float* w = a.array<float>(1, "w", D);
  const float* r = a.array<float>(2, "r", T);
  const float* dy = a.array<float>(3, "dy", n);
  float* dx = a.array<float>(6, "dx", n);
  float* dw = a.array<float>(7, "dw", D);
  if (!a.ok()) return;
  train_rmsnorm_bwd(x, w, r, dy, T, D, dx, dw);
}

// trainSwigluFwd(g, u, a) ; trainSwigluBwd(g, u, da, dg, du)
NAN_METHOD(TrainSwigluFwd) {
  Args a(info, "trainSwigluFwd");
  size_t n = len_f32(info, 0);
  const float* g = a.array<float>(0, "g", n);
  const float* u = a.array<float>(1, "u", n);
  float* y = a.array<float>(2, "a", n);
  if (!a.ok()) return;
  train_swiglu_fwd(g, u, n, y);
}

NAN_METHOD(TrainSwigluBwd) {
  Args a(info, "trainSwigluBwd");
  size_t n = len_f32(info, 0);
  const float* g = a.array<float>(0, "g", n);
  const float* u = a.array<float>(1, "u", n);
  const float* da = a.array<float>(2, "da", n);
  float* dg = a.array<float>(3, "dg", n);
  float* du = a.array<float>(4, "du", n);
  if (!a.ok()) return;
  train_swiglu_bwd(g, u, da, n, dg, du);
}

// trainRope(x [T*cols], pos: Int32Array [T], cols, col0, heads, stride, dr, inv: Float64Array [dr/2], amp, inverse)
NAN_METHOD(TrainRope) {
  Args a(info, "trainRope");
  size_t cols = a.size(2, "cols"), col0 = a.size(3, "col0"), heads = a.size(4, "heads"), stride = a.size(5, "stride"), dr = a.size(6, "dr");
  const size_t T = info[1]->IsInt32Array() ? Nan::TypedArrayContents<int32_t>(info[1]).length() : 0;
  if (a.ok() && dr % 2 != 0) a.fail("dr must be even, got " + std::to_string(dr));
  if (a.ok() && heads > 0 && col0 + (heads - 1) * stride + dr > cols)
    a.fail("col0 + (heads-1)*stride + dr = " + std::to_string(col0 + (heads - 1) * stride + dr) + " exceeds cols = " + std::to_string(cols));
  size_t n = a.mul(T, cols, "T*cols");
  float* x = a.array<float>(0, "x", n);
  const int32_t* pos = a.array<int32_t>(1, "pos", T);
  const double* inv = a.array<double>(7, "inv", dr / 2);
  double amp = a.number(8, "amp");
  bool inverse = a.flag(9, "inverse");
  if (!a.ok()) return;
  train_rope(x, pos, T, cols, col0, heads, stride, dr, inv, amp, inverse);
}

namespace {
// ids [n] within [0, rows) or a failure naming the first outside.
bool check_ids(Args& a, const int32_t* ids, size_t n, size_t rows) {
  if (!a.ok()) return false;
  for (size_t i = 0; i < n; ++i)
    if (ids[i] < 0 || static_cast<size_t>(ids[i]) >= rows) {
      a.fail("token " + std::to_string(ids[i]) + " at row " + std::to_string(i) + " is outside the vocabulary [0, " + std::to_string(rows) + ")");
      return false;
    }
  return true;
}
}  // namespace

// trainEmbedFwd(E [V*d], ids: Int32Array [n], V, d, y [n*d]) ; trainEmbedBwd(dy [n*d], ids, V, d, dE [V*d])
NAN_METHOD(TrainEmbedFwd) {
  Args a(info, "trainEmbedFwd");
  size_t V = a.size(2, "V"), d = a.size(3, "d");
  const size_t n = info[1]->IsInt32Array() ? Nan::TypedArrayContents<int32_t>(info[1]).length() : 0;
  const float* E = a.array<float>(0, "E", a.mul(V, d, "V*d"));
  const int32_t* ids = a.array<int32_t>(1, "ids", n);
  float* y = a.array<float>(4, "y", a.mul(n, d, "n*d"));
  if (!check_ids(a, ids, n, V)) return;
  train_embed_fwd(E, ids, n, d, y);
}

NAN_METHOD(TrainEmbedBwd) {
  Args a(info, "trainEmbedBwd");
  size_t V = a.size(2, "V"), d = a.size(3, "d");
  const size_t n = info[1]->IsInt32Array() ? Nan::TypedArrayContents<int32_t>(info[1]).length() : 0;
  const float* dy = a.array<float>(0, "dy", a.mul(n, d, "n*d"));
  const int32_t* ids = a.array<int32_t>(1, "ids", n);
  float* dE = a.array<float>(4, "dE", a.mul(V, d, "V*d"));
  if (!check_ids(a, ids, n, V)) return;
  train_embed_bwd(dy, ids, n, d, dE);
}

// trainCrossEntropy(logits [T*V], targets: Int32Array [T], T, V, weight, dlogits [T*V]) -> mean loss
NAN_METHOD(TrainCrossEntropy) {
  Args a(info, "trainCrossEntropy");
  size_t T = a.size(2, "T"), V = a.size(3, "V");
  double weight = a.number(4, "weight");
  size_t n = a.mul(T, V, "T*V");
  const float* l = a.array<float>(0, "logits", n);
  const int32_t* tg = a.array<int32_t>(1, "targets", T);
  float* d = a.array<float>(5, "dlogits", n);
  if (!a.ok()) return;
  long long bad = -1;
  double loss = train_cross_entropy(l, tg, T, V, weight, d, &bad);
  if (bad >= 0) {
    a.fail("target " + std::to_string(tg[bad]) + " at row " + std::to_string(bad) + " is outside the vocabulary [0, " + std::to_string(V) + ")");
    return;
  }
  info.GetReturnValue().Set(Nan::New(loss));
}

// trainAmax(x: Float32Array) -> max |x| (NaN if any NaN)
NAN_METHOD(TrainAmax) {
  Args a(info, "trainAmax");
  const float* x = a.array<float>(0, "x", len_f32(info, 0));
  if (!a.ok()) return;
  info.GetReturnValue().Set(Nan::New(static_cast<double>(train_amax(x, len_f32(info, 0)))));
}

// trainQuantActScaled(x [rows*cols], rows, cols, c, q [rows*cols], scales [rows*ceil(cols/128)])
NAN_METHOD(TrainQuantActScaled) {
  Args a(info, "trainQuantActScaled");
  size_t R = a.size(1, "rows"), C = a.size(2, "cols");
  double c = a.number(3, "c");
  size_t n = a.mul(R, C, "rows*cols");
  const float* x = a.array<float>(0, "x", n);
  uint8_t* q = a.array<uint8_t>(4, "q", n);
  float* s = a.array<float>(5, "scales", a.mul(R, ceil_div(C, kQuantTile), "rows*ceil(cols/128)"));
  if (!a.ok()) return;
  std::string err = nonfinite(train_quant_act_scaled(x, R, C, static_cast<float>(c), q, s), "x");
  if (!err.empty()) a.fail(err);
}

// trainTranspose(x [rows*cols], rows, cols, out [cols*rows])
NAN_METHOD(TrainTranspose) {
  Args a(info, "trainTranspose");
  size_t R = a.size(1, "rows"), C = a.size(2, "cols");
  size_t n = a.mul(R, C, "rows*cols");
  const float* x = a.array<float>(0, "x", n);
  float* out = a.array<float>(3, "out", n);
  if (!a.ok()) return;
  train_transpose(x, R, C, out);
}

// trainQuantActCols(x [rows*cols], rows, cols, c, q [rows*cols], scales [cols*ceil(rows/128)])
NAN_METHOD(TrainQuantActCols) {
  Args a(info, "trainQuantActCols");
  size_t R = a.size(1, "rows"), C = a.size(2, "cols");
  double c = a.number(3, "c");
  size_t n = a.mul(R, C, "rows*cols");
  const float* x = a.array<float>(0, "x", n);
  uint8_t* q = a.array<uint8_t>(4, "q", n);
  float* s = a.array<float>(5, "scales", a.mul(C, ceil_div(R, kQuantTile), "cols*ceil(rows/128)"));
  if (!a.ok()) return;
  std::string err = nonfinite(train_quant_act_cols(x, R, C, static_cast<float>(c), q, s), "x");
  if (!err.empty()) a.fail(err);
}

// trainFp8GemmT(a [M*K], aScale [M*KB], transA, b [N*K], bScale [NB*KB], transB, M, N, K, out: Float32Array [M*N],
//               alpha?): out = A.B^T, or with alpha given out += alpha * A.B^T
NAN_METHOD(TrainFp8GemmT) {
  Args a(info, "trainFp8GemmT");
  size_t M = a.size(6, "M"), N = a.size(7, "N"), K = a.size(8, "K");
  size_t KB = ceil_div(K, kQuantTile), NB = ceil_div(N, kQuantTile);
  const uint8_t* A = a.array<uint8_t>(0, "a", a.mul(M, K, "M*K"));
  const float* as = a.array<float>(1, "aScale", a.mul(M, KB, "M*ceil(K/128)"));
  const bool ta = a.ok() && Nan::To<bool>(info[2]).FromJust();
  const uint8_t* B = a.array<uint8_t>(3, "b", a.mul(N, K, "N*K"));
  const float* bs = a.array<float>(4, "bScale", a.mul(NB, KB, "ceil(N/128)*ceil(K/128)"));
  const bool tb = a.ok() && Nan::To<bool>(info[5]).FromJust();
  float* C = a.array<float>(9, "out", a.mul(M, N, "M*N"));
  const bool acc = info.Length() > 10 && !info[10]->IsUndefined();
  const double alpha = acc ? a.number(10, "alpha") : 1.0;
  if (!a.ok()) return;
  if (acc) fp8_gemm_t_acc(A, as, ta, B, bs, tb, M, N, K, static_cast<float>(alpha), C);
  else fp8_gemm_t(A, as, ta, B, bs, tb, M, N, K, OutType::F32, C);
}

// trainSgemm(kind 0|1|2, a, b, T, outF, inF, c): 0 y[T,out] = x[T,in].W^T; 1 dx[T,in] += dy[T,out].W; 2 dW[out,in] += dy^T.x
NAN_METHOD(TrainSgemm) {
  Args a(info, "trainSgemm");
  size_t kind = a.size(0, "kind"), T = a.size(3, "T"), out = a.size(4, "outF"), in = a.size(5, "inF");
  if (a.ok() && kind > 2) a.fail("kind must be 0, 1 or 2");
  size_t nx = a.mul(T, in, "T*inF"), ny = a.mul(T, out, "T*outF"), nw = a.mul(out, in, "outF*inF");
  if (!a.ok()) return;
  if (kind == 0) {
    const float* x = a.array<float>(1, "x", nx);
    const float* W = a.array<float>(2, "W", nw);
    float* y = a.array<float>(6, "y", ny);
    if (a.ok()) train_sgemm_nt(x, W, T, in, out, y);
  } else if (kind == 1) {
    const float* dy = a.array<float>(1, "dy", ny);
    const float* W = a.array<float>(2, "W", nw);
    float* dx = a.array<float>(6, "dx", nx);
    if (a.ok()) train_sgemm_nn_acc(dy, W, T, out, in, dx);
  } else {
    const float* dy = a.array<float>(1, "dy", ny);
    const float* x = a.array<float>(2, "x", nx);
    float* dW = a.array<float>(6, "dW", nw);
    if (a.ok()) train_sgemm_tn_acc(dy, x, T, out, in, dW);
  }
}

}  // namespace bind
}  // namespace moe
