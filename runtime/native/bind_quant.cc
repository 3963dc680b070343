// Bindings: block quantisation and dequantisation (E4M3).
#include "bind.h"
#include "bind_util.h"
#include "quant.h"

#include <vector>

namespace moe {
namespace bind {

namespace {
std::string nonfinite(long long at, const char* name) {
  return at < 0 ? std::string() : std::string(name) + " holds a non-finite value at flat index " + std::to_string(at);
}
}  // namespace

// quantAct(x: Float32Array [M*K], M, K, pow2, q: Uint8Array [M*K], scales: Float32Array [M*KB], cb?)
NAN_METHOD(QuantAct) {
  Args a(info, "quantAct");
  size_t M = a.size(1, "M"), K = a.size(2, "K");
  size_t n = a.mul(M, K, "M*K"), ns = a.mul(M, ceil_div(K, kQuantTile), "M*ceil(K/128)");
  const float* x = a.array<float>(0, "x", n);
  bool pow2 = a.flag(3, "pow2");
  uint8_t* q = a.array<uint8_t>(4, "q", n);
  float* s = a.array<float>(5, "scales", ns);
  if (!a.ok()) return;
  run_or_queue(info, 6, "quantAct", [=] { return nonfinite(quant_act(x, M, K, pow2, q, s), "x"); });
}

// quantWeight(w: Float32Array [N*K], N, K, pow2, q: Uint8Array [N*K], scaleInv: Float32Array [NB*KB], cb?)
NAN_METHOD(QuantWeight) {
  Args a(info, "quantWeight");
  size_t N = a.size(1, "N"), K = a.size(2, "K");
  size_t n = a.mul(N, K, "N*K");
  size_t ns = a.mul(ceil_div(N, kQuantTile), ceil_div(K, kQuantTile), "ceil(N/128)*ceil(K/128)");
  const float* w = a.array<float>(0, "w", n);
  bool pow2 = a.flag(3, "pow2");
  uint8_t* q = a.array<uint8_t>(4, "q", n);
  float* s = a.array<float>(5, "scaleInv", ns);
  if (!a.ok()) return;
  run_or_queue(info, 6, "quantWeight", [=] { return nonfinite(quant_weight(w, N, K, pow2, q, s), "w"); });
}

// dequantAct(q: Uint8Array [M*K], scales: Float32Array [M*KB], M, K, out: Float32Array [M*K], cb?)
NAN_METHOD(DequantAct) {
  Args a(info, "dequantAct");
  size_t M = a.size(2, "M"), K = a.size(3, "K");
  size_t n = a.mul(M, K, "M*K"), ns = a.mul(M, ceil_div(K, kQuantTile), "M*ceil(K/128)");
  const uint8_t* q = a.array<uint8_t>(0, "q", n);
  const float* s = a.array<float>(1, "scales", ns);
  float* out = a.array<float>(4, "out", n);
  if (!a.ok()) return;
  run_or_queue(info, 5, "dequantAct", [=] { dequant_act(q, s, M, K, out); return std::string(); });
}

// dequantWeight(q: Uint8Array [N*K], scaleInv: Float32Array [NB*KB], N, K, out: Float32Array [N*K], cb?)
NAN_METHOD(DequantWeight) {
  Args a(info, "dequantWeight");
  size_t N = a.size(2, "N"), K = a.size(3, "K");
  size_t n = a.mul(N, K, "N*K");
  size_t ns = a.mul(ceil_div(N, kQuantTile), ceil_div(K, kQuantTile), "ceil(N/128)*ceil(K/128)");
  const uint8_t* q = a.array<uint8_t>(0, "q", n);
  const float* s = a.array<float>(1, "scaleInv", ns);
  float* out = a.array<float>(4, "out", n);
  if (!a.ok()) return;
  run_or_queue(info, 5, "dequantWeight", [=] { dequant_weight(q, s, N, K, out); return std::string(); });
}

// quantWeightStacked(w: Float32Array[E] ([N*K] each), N, K, pow2, q: Uint8Array [E*N*K], scaleInv [E*NB*KB])
NAN_METHOD(QuantWeightStacked) {
  Args a(info, "quantWeightStacked");
  size_t N = a.size(1, "N"), K = a.size(2, "K");
  bool pow2 = a.flag(3, "pow2");
  if (a.ok() && !info[0]->IsArray()) a.fail("w must be an array of Float32Array");
  if (!a.ok()) return;
  v8::Local<v8::Array> arr = info[0].As<v8::Array>();
  const size_t E = arr->Length(), n = a.mul(N, K, "N*K");
  size_t nb = a.mul(ceil_div(N, kQuantTile), ceil_div(K, kQuantTile), "ceil(N/128)*ceil(K/128)");
  uint8_t* q = a.array<uint8_t>(4, "q", a.mul(E, n, "E*N*K"));
  float* s = a.array<float>(5, "scaleInv", a.mul(E, nb, "E*NB*KB"));
  std::vector<const float*> w(E);
  for (size_t e = 0; a.ok() && e < E; ++e) {
    v8::Local<v8::Value> v;
    if (!Nan::Get(arr, static_cast<uint32_t>(e)).ToLocal(&v) || !v->IsFloat32Array()) {
      a.fail("w[" + std::to_string(e) + "] must be a Float32Array");
      break;
    }
    Nan::TypedArrayContents<float> c(v);
    if (c.length() != n) a.fail("w[" + std::to_string(e) + "] has " + std::to_string(c.length()) + " elements, expected N*K = " + std::to_string(n));
    w[e] = *c;
  }
  if (!a.ok()) return;
  std::string err = nonfinite(quant_weight_stacked(w.data(), E, N, K, pow2, q, s), "w");
  if (!err.empty()) a.fail(err);
}

}  // namespace bind
}  // namespace moe
