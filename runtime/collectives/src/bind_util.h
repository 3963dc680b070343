// Shared helpers for the collectives bindings: argument unpacking with messages that name the function and the
// argument, the group handle table, and one AsyncWorker that runs a blocking C++ job off the event loop.
#pragma once
#include <gloo/context.h>
#include <nan.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace moe {
namespace coll {

using Info = Nan::FunctionCallbackInfo<v8::Value>;

struct Bytes {
  void* data = nullptr;
  size_t size = 0;
};

// Throws a JS TypeError naming fn and what is wrong; returns false so callers can `return`.
bool fail(const char* fn, const std::string& msg);
bool intArg(const Info& info, int i, const char* fn, const char* name, int64_t lo, int64_t hi, int64_t* out);
bool bytesArg(const Info& info, int i, const char* fn, const char* name, Bytes* out);
bool f32Arg(const Info& info, int i, const char* fn, const char* name, float** p, size_t* n);
// An Array of non-negative integers with exactly `n` entries.
bool countsArg(const Info& info, int i, const char* fn, const char* name, size_t n, std::vector<int64_t>* out);
bool groupArg(const Info& info, int i, const char* fn, std::shared_ptr<gloo::Context>* out);

int addGroup(std::shared_ptr<gloo::Context> c);
bool removeGroup(int handle);

// Runs `job` synchronously when info[cbIndex] is not a function (throwing its error as a JS Error), else on the
// libuv pool and calls back (err). `keep` lists the JS objects (buffers) the job touches, kept alive until it ends.
void runJob(const Info& info, int cbIndex, const char* fn, std::function<void()> job,
            const std::vector<v8::Local<v8::Value>>& keep, std::function<v8::Local<v8::Value>()> result = nullptr);

}  // namespace coll
}  // namespace moe
