#include "bind_util.h"

#include <map>

namespace moe {
namespace coll {
namespace {

std::map<int, std::shared_ptr<gloo::Context>> groups;  // touched on the JS thread only
int nextHandle = 1;

class JobWorker : public Nan::AsyncWorker {
 public:
  JobWorker(Nan::Callback* cb, const char* fn, std::function<void()> job,
            std::function<v8::Local<v8::Value>()> result)
      : Nan::AsyncWorker(cb, "moe:collectives"), fn_(fn), job_(std::move(job)), result_(std::move(result)) {}
  void Execute() override {
    try {
      job_();
    } catch (const std::exception& e) {
      SetErrorMessage((std::string(fn_) + ": " + e.what()).c_str());
    }
  }
  void HandleOKCallback() override {
    Nan::HandleScope scope;
    v8::Local<v8::Value> argv[] = {Nan::Null(), result_ ? result_() : Nan::Undefined().As<v8::Value>()};
    callback->Call(2, argv, async_resource);
  }

 private:
  const char* fn_;
  std::function<void()> job_;
  std::function<v8::Local<v8::Value>()> result_;
};

}  // namespace

bool fail(const char* fn, const std::string& msg) {
  Nan::ThrowTypeError((std::string(fn) + ": " + msg).c_str());
  return false;
}

bool intArg(const Info& info, int i, const char* fn, const char* name, int64_t lo, int64_t hi, int64_t* out) {
  if (i >= info.Length() || !info[i]->IsNumber()) return fail(fn, std::string(name) + " must be a number");
  double v = Nan::To<double>(info[i]).FromJust();
  if (v != static_cast<double>(static_cast<int64_t>(v)) || v < static_cast<double>(lo) ||
      v > static_cast<double>(hi)) {
    return fail(fn, std::string(name) + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                        "], got " + std::to_string(v));
  }
  *out = static_cast<int64_t>(v);
  return true;
}

bool bytesArg(const Info& info, int i, const char* fn, const char* name, Bytes* out) {
  if (i >= info.Length() || !info[i]->IsArrayBufferView()) return fail(fn, std::string(name) + " must be a typed array");
  auto v = info[i].As<v8::ArrayBufferView>();
  out->size = v->ByteLength();
  out->data = static_cast<char*>(v->Buffer()->Data()) + v->ByteOffset();
  return true;
}

bool f32Arg(const Info& info, int i, const char* fn, const char* name, float** p, size_t* n) {
  if (i >= info.Length() || !info[i]->IsFloat32Array()) return fail(fn, std::string(name) + " must be a Float32Array");
  Bytes b;
  bytesArg(info, i, fn, name, &b);
  *p = static_cast<float*>(b.data);
  *n = b.size / 4;
  return true;
}

bool countsArg(const Info& info, int i, const char* fn, const char* name, size_t n, std::vector<int64_t>* out) {
  if (i >= info.Length() || !info[i]->IsArray()) return fail(fn, std::string(name) + " must be an array of integers");
  auto a = info[i].As<v8::Array>();
  if (a->Length() != n) {
    return fail(fn, std::string(name) + " has " + std::to_string(a->Length()) + " entries, expected one per rank (" +
                        std::to_string(n) + ")");
  }
  out->resize(n);
  for (uint32_t k = 0; k < n; k++) {
    v8::Local<v8::Value> e = Nan::Get(a, k).ToLocalChecked();
    double v = e->IsNumber() ? Nan::To<double>(e).FromJust() : -1;
    if (v < 0 || v != static_cast<double>(static_cast<int64_t>(v))) {
      return fail(fn, std::string(name) + "[" + std::to_string(k) + "] must be a non-negative integer");
    }
    (*out)[k] = static_cast<int64_t>(v);
  }
  return true;
}

bool groupArg(const Info& info, int i, const char* fn, std::shared_ptr<gloo::Context>* out) {
  int64_t h = 0;
  if (!intArg(info, i, fn, "group handle", 1, INT32_MAX, &h)) return false;
  auto it = groups.find(static_cast<int>(h));
  if (it == groups.end()) return fail(fn, "group handle " + std::to_string(h) + " is closed or was never opened");
  *out = it->second;
  return true;
}

int addGroup(std::shared_ptr<gloo::Context> c) {
  int h = nextHandle++;
  groups[h] = std::move(c);
  return h;
}

bool removeGroup(int handle) { return groups.erase(handle) > 0; }

void runJob(const Info& info, int cbIndex, const char* fn, std::function<void()> job,
            const std::vector<v8::Local<v8::Value>>& keep, std::function<v8::Local<v8::Value>()> result) {
  if (cbIndex < info.Length() && info[cbIndex]->IsFunction()) {
    auto* w = new JobWorker(new Nan::Callback(info[cbIndex].As<v8::Function>()), fn, std::move(job), std::move(result));
    for (size_t k = 0; k < keep.size(); k++) w->SaveToPersistent(static_cast<uint32_t>(k), keep[k]);
    Nan::AsyncQueueWorker(w);
    return;
  }
  try {
    job();
  } catch (const std::exception& e) {
    Nan::ThrowError((std::string(fn) + ": " + e.what()).c_str());
    return;
  }
  if (result) info.GetReturnValue().Set(result());
}

}  // namespace coll
}  // namespace moe
