// Bindings: float32 helpers (RMSNorm, SwiGLU, softmax, RoPE).
#include "bind.h"
#include "bind_util.h"
#include "ops.h"

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

}  // namespace bind
}  // namespace moe
