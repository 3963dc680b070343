// allreduce, alltoallv, reduceScatter, allgather, barrier: (handle, ..., tag, timeoutMs, cb?).
#include "bind.h"
#include "bind_util.h"
#include "group.h"

namespace moe {
namespace coll {
namespace {

bool tagTimeout(const Info& info, int i, const char* fn, uint32_t* tag, Ms* timeout) {
  int64_t t = 0, ms = 0;
  if (!intArg(info, i, fn, "tag", 0, UINT32_MAX, &t) || !intArg(info, i + 1, fn, "timeoutMs", 1, INT32_MAX, &ms)) {
    return false;
  }
  *tag = static_cast<uint32_t>(t);
  *timeout = Ms(ms);
  return true;
}

int64_t sum(const std::vector<int64_t>& v) {
  int64_t s = 0;
  for (int64_t x : v) s += x;
  return s;
}

}  // namespace

NAN_METHOD(Allreduce) {
  std::shared_ptr<gloo::Context> c;
  float* p = nullptr;
  size_t n = 0;
  uint32_t tag = 0;
  Ms t;
  if (!groupArg(info, 0, "allreduce", &c) || !f32Arg(info, 1, "allreduce", "buffer", &p, &n) ||
      !tagTimeout(info, 2, "allreduce", &tag, &t)) {
    return;
  }
  runJob(info, 4, "allreduce", [=]() { allreduceSumF32(c, p, n, tag, t); }, {info[1]});
}

NAN_METHOD(Alltoallv) {
  std::shared_ptr<gloo::Context> c;
  Bytes in, out;
  std::vector<int64_t> inBytes, outBytes;
  uint32_t tag = 0;
  Ms t;
  if (!groupArg(info, 0, "alltoallv", &c) || !bytesArg(info, 1, "alltoallv", "input", &in) ||
      !countsArg(info, 2, "alltoallv", "inputBytes", c->size, &inBytes) ||
      !bytesArg(info, 3, "alltoallv", "output", &out) ||
      !countsArg(info, 4, "alltoallv", "outputBytes", c->size, &outBytes) ||
      !tagTimeout(info, 5, "alltoallv", &tag, &t)) {
    return;
  }
  if (static_cast<size_t>(sum(inBytes)) != in.size) {
    fail("alltoallv", "inputBytes sum to " + std::to_string(sum(inBytes)) + " but input has " +
                          std::to_string(in.size) + " bytes");
    return;
  }
  if (static_cast<size_t>(sum(outBytes)) != out.size) {
    fail("alltoallv", "outputBytes sum to " + std::to_string(sum(outBytes)) + " but output has " +
                          std::to_string(out.size) + " bytes");
    return;
  }
  runJob(info, 7, "alltoallv", [=]() { alltoallv(c, in.data, inBytes, out.data, outBytes, tag, t); },
         {info[1], info[3]});
}

NAN_METHOD(ReduceScatter) {
  std::shared_ptr<gloo::Context> c;
  float *in = nullptr, *out = nullptr;
  size_t nin = 0, nout = 0;
  std::vector<int64_t> counts;
  uint32_t tag = 0;
  Ms t;
  if (!groupArg(info, 0, "reduceScatter", &c) || !f32Arg(info, 1, "reduceScatter", "input", &in, &nin) ||
      !countsArg(info, 2, "reduceScatter", "counts", c->size, &counts) ||
      !f32Arg(info, 3, "reduceScatter", "output", &out, &nout) || !tagTimeout(info, 4, "reduceScatter", &tag, &t)) {
    return;
  }
  if (static_cast<size_t>(sum(counts)) != nin) {
    fail("reduceScatter", "counts sum to " + std::to_string(sum(counts)) + " but input has " + std::to_string(nin));
    return;
  }
  if (static_cast<size_t>(counts[c->rank]) != nout) {
    fail("reduceScatter", "output has " + std::to_string(nout) + " elements, counts[rank] is " +
                              std::to_string(counts[c->rank]));
    return;
  }
  runJob(info, 6, "reduceScatter", [=]() { reduceScatterSumF32(c, in, counts, out, tag, t); }, {info[1], info[3]});
}

NAN_METHOD(Allgather) {
  std::shared_ptr<gloo::Context> c;
  Bytes in, out;
  uint32_t tag = 0;
  Ms t;
  if (!groupArg(info, 0, "allgather", &c) || !bytesArg(info, 1, "allgather", "input", &in) ||
      !bytesArg(info, 2, "allgather", "output", &out) || !tagTimeout(info, 3, "allgather", &tag, &t)) {
    return;
  }
  if (out.size != in.size * static_cast<size_t>(c->size)) {
    fail("allgather", "output has " + std::to_string(out.size) + " bytes, expected group size × input = " +
                          std::to_string(in.size * c->size));
    return;
  }
  runJob(info, 5, "allgather", [=]() { allgather(c, in.data, in.size, out.data, tag, t); }, {info[1], info[2]});
}

NAN_METHOD(Barrier) {
  std::shared_ptr<gloo::Context> c;
  uint32_t tag = 0;
  Ms t;
  if (!groupArg(info, 0, "barrier", &c) || !tagTimeout(info, 1, "barrier", &tag, &t)) return;
  runJob(info, 3, "barrier", [=]() { barrier(c, tag, t); }, {});
}

}  // namespace coll
}  // namespace moe
