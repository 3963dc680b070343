// Bindings: FP8 GEMM (plain, grouped, emulated-accumulator) and BF16 GEMM.
#include <vector>

#include "bind.h"
#include "bind_util.h"
#include "cpu.h"
#include "fp8_linear.h"
#include "gemm.h"
#include "quant.h"

namespace moe {
namespace bind {

namespace {
// The output array decides the output type: Float32Array -> f32, Uint16Array -> bf16.
void* out_arg(Args& a, int i, size_t n, OutType* t) {
  if (!a.ok()) return nullptr;
  if (i < a.info().Length() && a.info()[i]->IsUint16Array()) {
    *t = OutType::BF16;
    return a.array<uint16_t>(i, "out", n);
  }
  *t = OutType::F32;
  return a.array<float>(i, "out", n);
}
}  // namespace

// fp8Gemm(a: Uint8Array [M*K], aScale [M*KB], b: Uint8Array [N*K], bScale [NB*KB], M, N, K, out, cb?)
NAN_METHOD(Fp8Gemm) {
  Args a(info, "fp8Gemm");
  size_t M = a.size(4, "M"), N = a.size(5, "N"), K = a.size(6, "K");
  size_t KB = ceil_div(K, kQuantTile), NB = ceil_div(N, kQuantTile);
  const uint8_t* A = a.array<uint8_t>(0, "a", a.mul(M, K, "M*K"));
  const float* as = a.array<float>(1, "aScale", a.mul(M, KB, "M*ceil(K/128)"));
  const uint8_t* B = a.array<uint8_t>(2, "b", a.mul(N, K, "N*K"));
  const float* bs = a.array<float>(3, "bScale", a.mul(NB, KB, "ceil(N/128)*ceil(K/128)"));
  OutType t;
  void* C = out_arg(a, 7, a.mul(M, N, "M*N"), &t);
  if (!a.ok()) return;
  run_or_queue(info, 8, "fp8Gemm", [=] { fp8_gemm(A, as, B, bs, M, N, K, t, C); return std::string(); });
}

// fp8GemmGrouped(a [R*K], aScale [R*KB], b [E*N*K], bScale [E*NB*KB], offsets: Int32Array [E+1], E, N, K, out [R*N], cb?)
NAN_METHOD(Fp8GemmGrouped) {
  Args a(info, "fp8GemmGrouped");
  size_t E = a.size(5, "E"), N = a.size(6, "N"), K = a.size(7, "K");
  const int32_t* off = a.array<int32_t>(4, "offsets", E + 1);
  size_t R = 0;
  if (a.ok()) {
    if (off[0] != 0) a.fail("offsets[0] must be 0, got " + std::to_string(off[0]));
    for (size_t e = 0; a.ok() && e < E; ++e)
      if (off[e + 1] < off[e])
        a.fail("offsets must be non-decreasing: offsets[" + std::to_string(e + 1) + "] = " +
               std::to_string(off[e + 1]) + " < " + std::to_string(off[e]));
    if (a.ok()) R = static_cast<size_t>(off[E]);
  }
  size_t KB = ceil_div(K, kQuantTile), NB = ceil_div(N, kQuantTile);
  const uint8_t* A = a.array<uint8_t>(0, "a", a.mul(R, K, "rows*K"));
  const float* as = a.array<float>(1, "aScale", a.mul(R, KB, "rows*ceil(K/128)"));
  const uint8_t* B = a.array<uint8_t>(2, "b", a.mul(E, a.mul(N, K, "N*K"), "E*N*K"));
  const float* bs = a.array<float>(3, "bScale", a.mul(E, a.mul(NB, KB, "NB*KB"), "E*NB*KB"));
  OutType t;
  void* C = out_arg(a, 8, a.mul(R, N, "rows*N"), &t);
  if (!a.ok()) return;
  // offsets is copied: the kernel must not see later changes made from JS during an async run.
  std::vector<int32_t> offs(off, off + E + 1);
  run_or_queue(info, 9, "fp8GemmGrouped", [=] {
    fp8_gemm_grouped(A, as, B, bs, offs.data(), E, N, K, t, C);
    return std::string();
  });
}

namespace {
KernelPath path_arg(Args& a, int i) {
  size_t code = a.size(i, "path");
  if (a.ok() && code > static_cast<size_t>(KernelPath::Amx)) a.fail("path code must be 0..3, got " + std::to_string(code));
  KernelPath p = static_cast<KernelPath>(code);
  if (a.ok() && p > detected_path())
    a.fail(std::string("weights packed for path '") + path_name(p) + "' cannot run on this CPU (best: " +
           path_name(detected_path()) + "); pack them again here");
  return p;
}
}  // namespace

// packWeights(b: Uint8Array [E*N*K], E, N, K, pathCode) -> Buffer (E * packed bytes), for the GEMMs below
NAN_METHOD(PackWeights) {
  Args a(info, "packWeights");
  size_t E = a.size(1, "E"), N = a.size(2, "N"), K = a.size(3, "K");
  const uint8_t* B = a.array<uint8_t>(0, "b", a.mul(E, a.mul(N, K, "N*K"), "E*N*K"));
  KernelPath p = path_arg(a, 4);
  if (!a.ok()) return;
  size_t bytes = a.mul(E, fp8_packed_weight_bytes(p, N, K), "packed size");
  if (a.ok() && bytes >= (1ull << 32)) a.fail("packed weights exceed 4 GiB; pack fewer experts per call");
  if (!a.ok()) return;
  v8::Local<v8::Object> buf;
  if (!Nan::NewBuffer(static_cast<uint32_t>(bytes)).ToLocal(&buf)) return Nan::ThrowError("packWeights: out of memory");
  fp8_pack_weights(B, E, N, K, p, reinterpret_cast<uint8_t*>(node::Buffer::Data(buf)));
  info.GetReturnValue().Set(buf);
}

// fp8GemmGroupedPacked(a [R*K], aScale [R*KB], packed: Uint8Array, bScale [E*NB*KB], offsets [E+1], E, N, K, pathCode, out [R*N], cb?)
NAN_METHOD(Fp8GemmGroupedPacked) {
  Args a(info, "fp8GemmGroupedPacked");
  size_t E = a.size(5, "E"), N = a.size(6, "N"), K = a.size(7, "K");
  KernelPath p = path_arg(a, 8);
  const int32_t* off = a.array<int32_t>(4, "offsets", E + 1);
  size_t R = 0;
  if (a.ok()) {
    if (off[0] != 0) a.fail("offsets[0] must be 0, got " + std::to_string(off[0]));
    for (size_t e = 0; a.ok() && e < E; ++e)
      if (off[e + 1] < off[e]) a.fail("offsets must be non-decreasing at " + std::to_string(e + 1));
    if (a.ok()) R = static_cast<size_t>(off[E]);
  }
  size_t KB = ceil_div(K, kQuantTile), NB = ceil_div(N, kQuantTile);
  const uint8_t* A = a.array<uint8_t>(0, "a", a.mul(R, K, "rows*K"));
  const float* as = a.array<float>(1, "aScale", a.mul(R, KB, "rows*ceil(K/128)"));
  const uint8_t* P = a.array<uint8_t>(2, "packed", a.mul(E, a.ok() ? fp8_packed_weight_bytes(p, N, K) : 0, "packed size"));
  const float* bs = a.array<float>(3, "bScale", a.mul(E, a.mul(NB, KB, "NB*KB"), "E*NB*KB"));
  OutType t;
  void* C = out_arg(a, 9, a.mul(R, N, "rows*N"), &t);
  if (!a.ok()) return;
  std::vector<int32_t> offs(off, off + E + 1);
  run_or_queue(info, 10, "fp8GemmGroupedPacked", [=] {
    fp8_gemm_grouped_packed(A, as, P, bs, offs.data(), E, N, K, p, t, C);
    return std::string();
  });
}

// bf16Gemm(a: Uint16Array [M*K], b: Uint16Array [N*K], M, N, K, out, cb?)
NAN_METHOD(Bf16Gemm) {
  Args a(info, "bf16Gemm");
  size_t M = a.size(2, "M"), N = a.size(3, "N"), K = a.size(4, "K");
  const uint16_t* A = a.array<uint16_t>(0, "a", a.mul(M, K, "M*K"));
  const uint16_t* B = a.array<uint16_t>(1, "b", a.mul(N, K, "N*K"));
  OutType t;
  void* C = out_arg(a, 5, a.mul(M, N, "M*N"), &t);
  if (!a.ok()) return;
  run_or_queue(info, 6, "bf16Gemm", [=] { bf16_gemm(A, B, M, N, K, t, C); return std::string(); });
}

// bf16GemmF32(a: Float32Array, transA, b: Float32Array, transB, M, N, K, out: Float32Array [M*N], accumulate)
NAN_METHOD(Bf16GemmF32) {
  Args a(info, "bf16GemmF32");
  size_t M = a.size(4, "M"), N = a.size(5, "N"), K = a.size(6, "K");
  const float* A = a.array<float>(0, "a", a.mul(M, K, "M*K"));
  bool ta = a.flag(1, "transA");
  const float* B = a.array<float>(2, "b", a.mul(N, K, "N*K"));
  bool tb = a.flag(3, "transB");
  float* C = a.array<float>(7, "out", a.mul(M, N, "M*N"));
  bool acc = a.flag(8, "accumulate");
  if (!a.ok()) return;
  bf16_gemm_f32(A, ta, B, tb, M, N, K, acc, C);
}

// fp8GemmEmulated(a, aScale, b, bScale, M, N, K, accMantissaBits, interval, group, out: Float32Array, cb?)
NAN_METHOD(Fp8GemmEmulated) {
  Args a(info, "fp8GemmEmulated");
  size_t M = a.size(4, "M"), N = a.size(5, "N"), K = a.size(6, "K");
  size_t bits = a.size(7, "accMantissaBits"), interval = a.size(8, "interval"), group = a.size(9, "group");
  if (a.ok() && (bits < 1 || bits > 23)) a.fail("accMantissaBits must be in [1, 23], got " + std::to_string(bits));
  if (a.ok() && interval != 0 && (interval > 128 || 128 % interval != 0))
    a.fail("interval must be 0 (no promotion) or divide 128, got " + std::to_string(interval));
  if (a.ok() && (group == 0 || group > 128 || 128 % group != 0 || (interval && interval % group)))
    a.fail("group must divide 128 and the interval, got " + std::to_string(group));
  size_t KB = ceil_div(K, kQuantTile), NB = ceil_div(N, kQuantTile);
  const uint8_t* A = a.array<uint8_t>(0, "a", a.mul(M, K, "M*K"));
  const float* as = a.array<float>(1, "aScale", a.mul(M, KB, "M*ceil(K/128)"));
  const uint8_t* B = a.array<uint8_t>(2, "b", a.mul(N, K, "N*K"));
  const float* bs = a.array<float>(3, "bScale", a.mul(NB, KB, "ceil(N/128)*ceil(K/128)"));
  float* C = a.array<float>(10, "out", a.mul(M, N, "M*N"));
  if (!a.ok()) return;
  run_or_queue(info, 11, "fp8GemmEmulated", [=] {
    fp8_gemm_emulated(A, as, B, bs, M, N, K, static_cast<int>(bits), interval, group, C);
    return std::string();
  });
}

namespace {
// Element i of the JS array at info[arg] as a typed array of exactly n elements (a Float32Array or a Uint8Array).
template <typename T>
T* list_item(Args& a, int arg, size_t i, size_t n, const char* name) {
  if (!a.ok()) return nullptr;
  const Info& info = a.info();
  if (arg >= info.Length() || !info[arg]->IsArray()) {
    a.fail(std::string(name) + " must be an array");
    return nullptr;
  }
  v8::Local<v8::Array> arr = info[arg].As<v8::Array>();
  v8::Local<v8::Value> v;
  if (i >= arr->Length() || !Nan::Get(arr, static_cast<uint32_t>(i)).ToLocal(&v)) {
    a.fail(std::string(name) + " has " + std::to_string(arr->Length()) + " entries, expected more than " + std::to_string(i));
    return nullptr;
  }
  const bool kind = std::is_same<T, float>::value ? v->IsFloat32Array() : v->IsUint8Array();
  const std::string what = std::string(name) + "[" + std::to_string(i) + "]";
  if (!kind) {
    a.fail(what + " must be a " + ArrayKind<T>::name);
    return nullptr;
  }
  Nan::TypedArrayContents<T> c(v);
  if (c.length() != n) {
    a.fail(what + " has " + std::to_string(c.length()) + " elements, expected " + std::to_string(n));
    return nullptr;
  }
  static T dummy[1];
  return c.length() ? *c : dummy;
}

float* optional_f32(Args& a, int i, const char* name, size_t n) {
  if (!a.ok() || a.info()[i]->IsNull()) return nullptr;
  return a.array<float>(i, name, n);
}

void nonfinite_error(Args& a, long long at, bool in_x) {
  if (at >= 0)
    a.fail(std::string(in_x ? "x" : "dy") + " holds a non-finite value at flat index " + std::to_string(at));
}
}  // namespace

// fp8LinearForward(x [T*in], T, in, Wq: Uint8Array [out*in], Wsi [OB*IB], out, y [T*out]) -> ms of process CPU time
// spent quantising x (fp8_linear.h)
NAN_METHOD(Fp8LinearForward) {
  Args a(info, "fp8LinearForward");
  size_t T = a.size(1, "T"), I = a.size(2, "in"), O = a.size(5, "out");
  const float* x = a.array<float>(0, "x", a.mul(T, I, "T*in"));
  const uint8_t* Wq = a.array<uint8_t>(3, "Wq", a.mul(O, I, "out*in"));
  const float* Wsi = a.array<float>(4, "Wsi", a.mul(ceil_div(O, kQuantTile), ceil_div(I, kQuantTile), "OB*IB"));
  float* y = a.array<float>(6, "y", a.mul(T, O, "T*out"));
  if (!a.ok()) return;
  const long long at = fp8_linear_forward(x, T, I, Wq, Wsi, O, y);
  nonfinite_error(a, at, true);
  if (a.ok()) info.GetReturnValue().Set(Nan::New(fp8_linear_quant_ms()));
}

// fp8LinearBackward(dy [T*out], x [T*in] | null, T, out, in, Wq: Uint8Array [out*in] | null, Wsi [OB*IB] | null,
// dx [T*in] | null, dW [out*in] | null) -> ms of process CPU time spent quantising (fp8_linear.h)
NAN_METHOD(Fp8LinearBackward) {
  Args a(info, "fp8LinearBackward");
  size_t T = a.size(2, "T"), O = a.size(3, "out"), I = a.size(4, "in");
  const float* dy = a.array<float>(0, "dy", a.mul(T, O, "T*out"));
  float* dx = optional_f32(a, 7, "dx", a.mul(T, I, "T*in"));
  float* dW = optional_f32(a, 8, "dW", a.mul(O, I, "out*in"));
  // x is read for dW only, W's codes for dx only: either may be null when its product is skipped.
  const float* x = dW || !a.ok() || !info[1]->IsNull() ? a.array<float>(1, "x", a.mul(T, I, "T*in")) : nullptr;
  const bool need_w = dx || !a.ok() || !info[5]->IsNull() || !info[6]->IsNull();
  const uint8_t* Wq = need_w ? a.array<uint8_t>(5, "Wq", a.mul(O, I, "out*in")) : nullptr;
  const float* Wsi = need_w ? a.array<float>(6, "Wsi", a.mul(ceil_div(O, kQuantTile), ceil_div(I, kQuantTile), "OB*IB")) : nullptr;
  if (!a.ok()) return;
  bool bad_x = false;
  const long long at = fp8_linear_backward(dy, x, T, O, I, Wq, Wsi, dx, dW, &bad_x);
  nonfinite_error(a, at, bad_x);
  if (a.ok()) info.GetReturnValue().Set(Nan::New(fp8_linear_quant_ms()));
}

// fp8ExpertsBackward(x [R*in], in, offsets: Int32Array [E+1], dy: Float32Array[P] ([R*out] each), out,
// Wq: Uint8Array[P] ([E*out*in]), Wsi: Float32Array[P] ([E*OB*IB]), dx [R*in], dW: Float32Array[P*E] ([out*in]))
// -> ms of process CPU time spent quantising
NAN_METHOD(Fp8ExpertsBackward) {
  Args a(info, "fp8ExpertsBackward");
  size_t I = a.size(1, "in"), O = a.size(4, "out");
  size_t E = 0, P = 0, R = 0;
  if (a.ok() && !info[2]->IsInt32Array()) a.fail("offsets must be an Int32Array");
  if (a.ok() && !info[3]->IsArray()) a.fail("dy must be an array");
  const int32_t* off = nullptr;
  if (a.ok()) {
    Nan::TypedArrayContents<int32_t> c(info[2]);
    if (c.length() < 1) a.fail("offsets must have experts + 1 entries");
    E = c.length() ? c.length() - 1 : 0;
    off = *c;
    P = info[3].As<v8::Array>()->Length();
  }
  if (a.ok() && off[0] != 0) a.fail("offsets[0] must be 0, got " + std::to_string(off[0]));
  for (size_t e = 0; a.ok() && e < E; ++e)
    if (off[e + 1] < off[e]) a.fail("offsets must be non-decreasing at " + std::to_string(e + 1));
  if (a.ok()) R = static_cast<size_t>(off[E]);
  const float* x = a.array<float>(0, "x", a.mul(R, I, "rows*in"));
  const size_t nb = ceil_div(O, kQuantTile) * ceil_div(I, kQuantTile);
  std::vector<const float*> dy(P), Wsi(P);
  std::vector<const uint8_t*> Wq(P);
  std::vector<float*> dW(P * E);
  for (size_t p = 0; p < P; ++p) {
    dy[p] = list_item<float>(a, 3, p, a.mul(R, O, "rows*out"), "dy");
    Wq[p] = list_item<uint8_t>(a, 5, p, a.mul(E, a.mul(O, I, "out*in"), "E*out*in"), "Wq");
    Wsi[p] = list_item<float>(a, 6, p, a.mul(E, nb, "E*OB*IB"), "Wsi");
    for (size_t e = 0; e < E; ++e) dW[p * E + e] = list_item<float>(a, 8, p * E + e, a.mul(O, I, "out*in"), "dW");
  }
  float* dx = a.array<float>(7, "dx", a.mul(R, I, "rows*in"));
  if (!a.ok()) return;
  std::vector<int32_t> offs(off, off + E + 1);
  bool bad_x = false;
  const long long at = fp8_experts_backward(x, I, offs.data(), E, P, dy.data(), O, Wq.data(), Wsi.data(), dx, dW.data(), &bad_x);
  nonfinite_error(a, at, bad_x);
  if (a.ok()) info.GetReturnValue().Set(Nan::New(fp8_linear_quant_ms()));
}

}  // namespace bind
}  // namespace moe
