#include "bind_util.h"

#include <cmath>

namespace moe {
namespace bind {

namespace {
constexpr double kMaxSize = 1099511627776.0;  // 2^40

class Task : public Nan::AsyncWorker {
 public:
  Task(Nan::Callback* cb, std::function<std::string()> work) : Nan::AsyncWorker(cb, "moe_native"), work_(std::move(work)) {}
  void Execute() override {
    try {
      std::string err = work_();
      if (!err.empty()) SetErrorMessage(err.c_str());
    } catch (const std::exception& e) {
      SetErrorMessage(e.what());
    }
  }

 private:
  std::function<std::string()> work_;
};
}  // namespace

void Args::fail(const std::string& msg) {
  if (!ok_) return;
  ok_ = false;
  Nan::ThrowTypeError((std::string(fn_) + ": " + msg).c_str());
}

size_t Args::size(int i, const char* name) {
  if (!ok_) return 0;
  if (i >= info_.Length() || !info_[i]->IsNumber()) {
    fail(std::string(name) + " must be a number");
    return 0;
  }
  double v = Nan::To<double>(info_[i]).FromJust();
  if (!(v >= 0) || v != std::floor(v) || v >= kMaxSize) {
    fail(std::string(name) + " must be an integer in [0, 2^40), got " + std::to_string(v));
    return 0;
  }
  return static_cast<size_t>(v);
}

double Args::number(int i, const char* name) {
  if (!ok_) return 0;
  if (i >= info_.Length() || !info_[i]->IsNumber()) {
    fail(std::string(name) + " must be a number");
    return 0;
  }
  double v = Nan::To<double>(info_[i]).FromJust();
  if (!std::isfinite(v)) {
    fail(std::string(name) + " must be finite");
    return 0;
  }
  return v;
}

bool Args::flag(int i, const char* name) {
  if (!ok_) return false;
  if (i >= info_.Length() || !info_[i]->IsBoolean()) {
    fail(std::string(name) + " must be a boolean");
    return false;
  }
  return Nan::To<bool>(info_[i]).FromJust();
}

size_t Args::mul(size_t a, size_t b, const char* what) {
  if (!ok_) return 0;
  size_t r;
  if (__builtin_mul_overflow(a, b, &r) || static_cast<double>(r) >= kMaxSize) {
    fail(std::string(what) + " is too large");
    return 0;
  }
  return r;
}

void run_or_queue(const Info& info, int cb, const char* fn, std::function<std::string()> work) {
  if (cb < info.Length() && info[cb]->IsFunction()) {
    std::string name(fn);
    auto prefixed = [name, work = std::move(work)]() {
      std::string e = work();
      return e.empty() ? e : name + ": " + e;
    };
    auto* task = new Task(new Nan::Callback(info[cb].As<v8::Function>()), std::move(prefixed));
    for (int i = 0; i < cb; ++i)
      if (info[i]->IsObject()) task->SaveToPersistent(static_cast<uint32_t>(i), info[i]);
    Nan::AsyncQueueWorker(task);
    return;
  }
  if (cb < info.Length() && !info[cb]->IsUndefined()) {
    Nan::ThrowTypeError((std::string(fn) + ": the last argument must be a callback function or undefined").c_str());
    return;
  }
  std::string err;
  try {
    err = work();
  } catch (const std::exception& e) {
    err = e.what();
  }
  if (!err.empty()) Nan::ThrowError((std::string(fn) + ": " + err).c_str());
}

}  // namespace bind
}  // namespace moe
