// Argument unpacking for the bindings: every check throws a JS error naming the function and the
// argument; nothing here crashes on bad input. Kernels never see V8 types.
#pragma once
#include <nan.h>

#include <cstdint>
#include <functional>
#include <string>

namespace moe {
namespace bind {

using Info = Nan::FunctionCallbackInfo<v8::Value>;

template <typename T> struct ArrayKind;
template <> struct ArrayKind<float> { using V8 = v8::Float32Array; static constexpr const char* name = "Float32Array"; };
template <> struct ArrayKind<uint16_t> { using V8 = v8::Uint16Array; static constexpr const char* name = "Uint16Array"; };
template <> struct ArrayKind<uint8_t> { using V8 = v8::Uint8Array; static constexpr const char* name = "Uint8Array"; };
template <> struct ArrayKind<int32_t> { using V8 = v8::Int32Array; static constexpr const char* name = "Int32Array"; };
template <> struct ArrayKind<double> { using V8 = v8::Float64Array; static constexpr const char* name = "Float64Array"; };

// Collects arguments; the first failure throws and turns every later call into a no-op.
class Args {
 public:
  Args(const Info& info, const char* fn) : info_(info), fn_(fn) {}
  bool ok() const { return ok_; }
  const Info& info() const { return info_; }

  // A non-negative integer below 2^40.
  size_t size(int i, const char* name);
  double number(int i, const char* name);
  bool flag(int i, const char* name);
  // A typed array of exactly `expected` elements.
  template <typename T>
  T* array(int i, const char* name, size_t expected) {
    if (!ok_) return nullptr;
    using K = ArrayKind<T>;
    if (i >= info_.Length() || !info_[i]->IsArrayBufferView() ||
        !(std::is_same<T, float>::value ? info_[i]->IsFloat32Array()
          : std::is_same<T, uint16_t>::value ? info_[i]->IsUint16Array()
          : std::is_same<T, uint8_t>::value ? info_[i]->IsUint8Array()
          : std::is_same<T, double>::value  ? info_[i]->IsFloat64Array()
                                              : info_[i]->IsInt32Array())) {
      fail(std::string(name) + " must be a " + K::name);
      return nullptr;
    }
    Nan::TypedArrayContents<T> c(info_[i]);
    if (c.length() != expected) {
      fail(std::string(name) + " has " + std::to_string(c.length()) + " elements, expected " + std::to_string(expected));
      return nullptr;
    }
    static T dummy[1];
    return c.length() ? *c : dummy;  // never null, so kernels may take the address safely
  }
  // a*b with overflow and 2^40 limit checks.
  size_t mul(size_t a, size_t b, const char* what);
  void fail(const std::string& msg);

 private:
  const Info& info_;
  const char* fn_;
  bool ok_ = true;
};

// Runs `work` now (throwing its error), or on the libuv pool when info[cb] is a function; in that
// case every object argument before cb is kept alive until the callback runs. `work` returns an
// error message or "" and must not touch V8.
void run_or_queue(const Info& info, int cb, const char* fn, std::function<std::string()> work);

}  // namespace bind
}  // namespace moe
