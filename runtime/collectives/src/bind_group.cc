// connect(options, cb) and close(handle).
#include "bind.h"
#include "bind_util.h"
#include "group.h"

namespace moe {
namespace coll {
namespace {

bool stringField(v8::Local<v8::Object> o, const char* key, std::string* out) {
  v8::Local<v8::Value> v = Nan::Get(o, Nan::New(key).ToLocalChecked()).ToLocalChecked();
  if (v->IsUndefined()) return true;
  if (!v->IsString()) return fail("connect", std::string("options.") + key + " must be a string");
  *out = *Nan::Utf8String(v);
  return true;
}

bool intField(v8::Local<v8::Object> o, const char* key, int64_t lo, int64_t hi, int64_t* out) {
  v8::Local<v8::Value> v = Nan::Get(o, Nan::New(key).ToLocalChecked()).ToLocalChecked();
  double d = v->IsNumber() ? Nan::To<double>(v).FromJust() : -1e300;
  if (d != static_cast<double>(static_cast<int64_t>(d)) || d < static_cast<double>(lo) || d > static_cast<double>(hi)) {
    return fail("connect", std::string("options.") + key + " must be an integer in [" + std::to_string(lo) + ", " +
                               std::to_string(hi) + "]");
  }
  *out = static_cast<int64_t>(d);
  return true;
}

}  // namespace

NAN_METHOD(Connect) {
  if (info.Length() < 2 || !info[0]->IsObject() || !info[1]->IsFunction()) {
    fail("connect", "expects (options, callback): it always runs off the event loop, which may serve the store");
    return;
  }
  auto o = info[0].As<v8::Object>();
  GroupOptions g;
  int64_t rank = 0, size = 0, port = 0, timeout = 0;
  if (!intField(o, "size", 1, 1 << 20, &size) || !intField(o, "rank", 0, size - 1, &rank) ||
      !intField(o, "storePort", 1, 65535, &port) || !intField(o, "timeoutMs", 1, INT32_MAX, &timeout) ||
      !stringField(o, "storeHost", &g.storeHost) || !stringField(o, "prefix", &g.prefix) ||
      !stringField(o, "hostname", &g.hostname) || !stringField(o, "iface", &g.iface)) {
    return;
  }
  if (g.storeHost.empty()) {
    fail("connect", "options.storeHost is required (MASTER_ADDR)");
    return;
  }
  if (g.hostname.empty() && g.iface.empty()) {
    fail("connect", "options.hostname or options.iface is required: the address this rank's peers connect to");
    return;
  }
  g.rank = static_cast<int>(rank);
  g.size = static_cast<int>(size);
  g.storePort = static_cast<int>(port);
  g.timeout = Ms(timeout);
  auto holder = std::make_shared<std::shared_ptr<gloo::Context>>();
  runJob(
      info, 1, "connect", [g, holder]() { *holder = connectGroup(g); }, {},
      [holder]() -> v8::Local<v8::Value> { return Nan::New(addGroup(*holder)); });
}

NAN_METHOD(Close) {
  int64_t h = 0;
  if (!intArg(info, 0, "close", "group handle", 1, INT32_MAX, &h)) return;
  info.GetReturnValue().Set(Nan::New(removeGroup(static_cast<int>(h))));
}

}  // namespace coll
}  // namespace moe
