// Bindings: MoE routing, dispatch and combine (forward and backward).
#include <string>

#include "bind.h"
#include "bind_util.h"
#include "routing.h"

namespace moe {
namespace bind {

namespace {
// Every value of `v` must lie in [0, limit).
void check_range(Args& a, const int32_t* v, size_t n, size_t limit, const char* name) {
  for (size_t i = 0; a.ok() && i < n; ++i)
    if (v[i] < 0 || static_cast<size_t>(v[i]) >= limit)
      a.fail(std::string(name) + "[" + std::to_string(i) + "] = " + std::to_string(v[i]) + " is outside [0, " +
             std::to_string(limit) + ")");
}
}  // namespace

// route(logits [T*E], bias [E], T, E, groups, topkGroup, topk, scale, idx: Int32Array [T*k],
//       weights: Float32Array [T*k], counts: Int32Array [E], cb?)
NAN_METHOD(Route) {
  Args a(info, "route");
  RouteParams p{};
  p.tokens = a.size(2, "T");
  p.experts = a.size(3, "E");
  p.groups = a.size(4, "groups");
  p.topk_group = a.size(5, "topkGroup");
  p.topk = a.size(6, "topk");
  p.scale = static_cast<float>(a.number(7, "scale"));
  if (a.ok() && (p.groups == 0 || p.experts % p.groups))
    a.fail("groups must divide E: E = " + std::to_string(p.experts) + ", groups = " + std::to_string(p.groups));
  if (a.ok() && (p.topk_group == 0 || p.topk_group > p.groups))
    a.fail("topkGroup must be in [1, groups], got " + std::to_string(p.topk_group));
  if (a.ok() && (p.topk == 0 || p.topk > p.topk_group * (p.experts / p.groups)))
    a.fail("topk must be in [1, topkGroup*E/groups], got " + std::to_string(p.topk));
  const float* logits = a.array<float>(0, "logits", a.mul(p.tokens, p.experts, "T*E"));
  const float* bias = a.array<float>(1, "bias", p.experts);
  int32_t* idx = a.array<int32_t>(8, "idx", a.mul(p.tokens, p.topk, "T*topk"));
  float* w = a.array<float>(9, "weights", p.tokens * p.topk);
  int32_t* counts = a.array<int32_t>(10, "counts", p.experts);
  if (!a.ok()) return;
  run_or_queue(info, 11, "route", [=] {
    long long bad = route(logits, bias, p, idx, w, counts);
    if (bad < 0) return std::string();
    size_t b = static_cast<size_t>(bad), TE = p.tokens * p.experts;
    if (b >= TE) return "bias[" + std::to_string(b - TE) + "] is not finite";
    return "logits[" + std::to_string(b / p.experts) + "," + std::to_string(b % p.experts) + "] is not finite";
  });
}

// routeBackward(logits [T*E], idx [T*k], dweights [T*k], T, E, topk, scale, dlogits [T*E], cb?)
NAN_METHOD(RouteBackward) {
  Args a(info, "routeBackward");
  RouteParams p{};
  p.tokens = a.size(3, "T");
  p.experts = a.size(4, "E");
  p.topk = a.size(5, "topk");
  p.scale = static_cast<float>(a.number(6, "scale"));
  const float* logits = a.array<float>(0, "logits", a.mul(p.tokens, p.experts, "T*E"));
  const int32_t* idx = a.array<int32_t>(1, "idx", a.mul(p.tokens, p.topk, "T*topk"));
  const float* dw = a.array<float>(2, "dweights", p.tokens * p.topk);
  float* dl = a.array<float>(7, "dlogits", p.tokens * p.experts);
  if (a.ok()) check_range(a, idx, p.tokens * p.topk, p.experts, "idx");
  if (!a.ok()) return;
  run_or_queue(info, 8, "routeBackward", [=] { route_backward(logits, idx, dw, p, dl); return std::string(); });
}

// dispatchPlan(idx [T*k], T, k, E, offsets [E+1], slotOfRow [T*k], rowOfSlot [T*k], cb?)
NAN_METHOD(DispatchPlan) {
  Args a(info, "dispatchPlan");
  size_t T = a.size(1, "T"), k = a.size(2, "k"), E = a.size(3, "E");
  size_t n = a.mul(T, k, "T*k");
  if (a.ok() && E == 0) a.fail("E must be >= 1");
  const int32_t* idx = a.array<int32_t>(0, "idx", n);
  int32_t* off = a.array<int32_t>(4, "offsets", E + 1);
  int32_t* sor = a.array<int32_t>(5, "slotOfRow", n);
  int32_t* ros = a.array<int32_t>(6, "rowOfSlot", n);
  if (a.ok() && n >= (1ull << 31)) a.fail("T*k must be below 2^31");
  if (a.ok()) check_range(a, idx, n, E, "idx");
  if (!a.ok()) return;
  run_or_queue(info, 7, "dispatchPlan", [=] { dispatch_plan(idx, T, k, E, off, sor, ros); return std::string(); });
}

// dispatchRows(x [T*D] (Float32Array | Uint16Array | Uint8Array), T, D, slotOfRow [R], k, out [R*D] same type, cb?)
NAN_METHOD(DispatchRows) {
  Args a(info, "dispatchRows");
  size_t T = a.size(1, "T"), D = a.size(2, "D"), k = a.size(4, "k");
  size_t R = info[3]->IsInt32Array() ? Nan::TypedArrayContents<int32_t>(info[3]).length() : 0;
  const int32_t* sor = a.array<int32_t>(3, "slotOfRow", R);
  size_t n = a.mul(T, D, "T*D"), nout = a.mul(R, D, "rows*D");
  const uint8_t* x = nullptr;
  uint8_t* out = nullptr;
  size_t elem = 0;
  if (a.ok()) {
    if (info[0]->IsFloat32Array()) {
      elem = 4;
      x = reinterpret_cast<const uint8_t*>(a.array<float>(0, "x", n));
      out = reinterpret_cast<uint8_t*>(a.array<float>(5, "out", nout));
    } else if (info[0]->IsUint16Array()) {
      elem = 2;
      x = reinterpret_cast<const uint8_t*>(a.array<uint16_t>(0, "x", n));
      out = reinterpret_cast<uint8_t*>(a.array<uint16_t>(5, "out", nout));
    } else if (info[0]->IsUint8Array()) {
      elem = 1;
      x = a.array<uint8_t>(0, "x", n);
      out = a.array<uint8_t>(5, "out", nout);
    } else {
      a.fail("x must be a Float32Array, Uint16Array or Uint8Array");
    }
  }
  if (a.ok() && k == 0 && R) a.fail("k must be >= 1");
  if (a.ok()) check_range(a, sor, R, a.mul(T, k, "T*k"), "slotOfRow");
  if (!a.ok()) return;
  run_or_queue(info, 6, "dispatchRows", [=] { dispatch_rows(x, D * elem, sor, R, k, out); return std::string(); });
}

// dispatchBackward(dout [R*D], rowOfSlot [T*k], T, k, D, dx [T*D], cb?)
NAN_METHOD(DispatchBackward) {
  Args a(info, "dispatchBackward");
  size_t T = a.size(2, "T"), k = a.size(3, "k"), D = a.size(4, "D");
  size_t len = info[0]->IsFloat32Array() ? Nan::TypedArrayContents<float>(info[0]).length() : 0;
  if (a.ok() && (D == 0 ? len != 0 : len % D)) a.fail("dout length " + std::to_string(len) + " is not a multiple of D");
  size_t R = D ? len / D : 0;
  const float* dout = a.array<float>(0, "dout", len);
  const int32_t* ros = a.array<int32_t>(1, "rowOfSlot", a.mul(T, k, "T*k"));
  float* dx = a.array<float>(5, "dx", a.mul(T, D, "T*D"));
  if (a.ok() && D) check_range(a, ros, T * k, R, "rowOfSlot");
  if (!a.ok()) return;
  run_or_queue(info, 6, "dispatchBackward", [=] { dispatch_backward(dout, ros, T, k, D, dx); return std::string(); });
}

// combine(eo [R*D] (Float32Array | Uint16Array bf16), weights [T*k], rowOfSlot [T*k], T, k, D, y [T*D] f32, cb?)
NAN_METHOD(Combine) {
  Args a(info, "combine");
  size_t T = a.size(3, "T"), k = a.size(4, "k"), D = a.size(5, "D");
  const bool bf16 = info.Length() > 0 && info[0]->IsUint16Array();
  size_t len = info[0]->IsFloat32Array() ? Nan::TypedArrayContents<float>(info[0]).length()
               : bf16                    ? Nan::TypedArrayContents<uint16_t>(info[0]).length()
                                         : 0;
  if (a.ok() && (D == 0 ? len != 0 : len % D)) a.fail("eo length " + std::to_string(len) + " is not a multiple of D");
  size_t R = D ? len / D : 0;
  const float* eo = bf16 ? nullptr : a.array<float>(0, "eo", len);
  const uint16_t* eo16 = bf16 ? a.array<uint16_t>(0, "eo", len) : nullptr;
  const float* w = a.array<float>(1, "weights", a.mul(T, k, "T*k"));
  const int32_t* ros = a.array<int32_t>(2, "rowOfSlot", T * k);
  float* y = a.array<float>(6, "y", a.mul(T, D, "T*D"));
  if (a.ok() && D) check_range(a, ros, T * k, R, "rowOfSlot");
  if (!a.ok()) return;
  run_or_queue(info, 7, "combine", [=] {
    if (bf16) combine_bf16(eo16, w, ros, T, k, D, y);
    else combine(eo, w, ros, T, k, D, y);
    return std::string();
  });
}

// combineBackward(dy [T*D], eo [R*D], weights [T*k], rowOfSlot [T*k], T, k, D, deo [R*D], dw [T*k], cb?)
NAN_METHOD(CombineBackward) {
  Args a(info, "combineBackward");
  size_t T = a.size(4, "T"), k = a.size(5, "k"), D = a.size(6, "D");
  size_t len = info[1]->IsFloat32Array() ? Nan::TypedArrayContents<float>(info[1]).length() : 0;
  if (a.ok() && (D == 0 ? len != 0 : len % D)) a.fail("eo length " + std::to_string(len) + " is not a multiple of D");
  size_t R = D ? len / D : 0;
  const float* dy = a.array<float>(0, "dy", a.mul(T, D, "T*D"));
  const float* eo = a.array<float>(1, "eo", len);
  const float* w = a.array<float>(2, "weights", a.mul(T, k, "T*k"));
  const int32_t* ros = a.array<int32_t>(3, "rowOfSlot", T * k);
  float* deo = a.array<float>(7, "deo", len);
  float* dw = a.array<float>(8, "dw", T * k);
  if (a.ok() && D) check_range(a, ros, T * k, R, "rowOfSlot");
  if (!a.ok()) return;
  run_or_queue(info, 9, "combineBackward", [=] {
    combine_backward(dy, eo, w, ros, T, k, D, deo, dw);
    return std::string();
  });
}

}  // namespace bind
}  // namespace moe
