#include "group.h"

#include <gloo/allgather.h>
#include <gloo/allreduce.h>
#include <gloo/alltoallv.h>
#include <gloo/barrier.h>
#include <gloo/common/error.h>
#include <gloo/rendezvous/context.h>
#include <gloo/transport/tcp/device.h>
#include <gloo/transport/unbound_buffer.h>

#include <stdexcept>

#include "socket_store.h"

namespace moe {
namespace coll {
namespace {

constexpr uint64_t kMaxTag = (uint64_t(1) << 56) - 1;

// Debian builds Gloo without AVX, so its gloo::sum<float> is a scalar loop; this one is compiled here at -O3 and
// vectorises. Same result: one float add per element.
void sumF32(void* c, const void* a, const void* b, size_t n) {
  float* __restrict out = static_cast<float*>(c);
  const float* __restrict x = static_cast<const float*>(a);
  const float* __restrict y = static_cast<const float*>(b);
  for (size_t i = 0; i < n; i++) out[i] = x[i] + y[i];
}

void checkPeer(const gloo::Context& c, int peer, const char* what) {
  if (peer < 0 || peer >= c.size || peer == c.rank) {
    throw std::invalid_argument(std::string(what) + " rank " + std::to_string(peer) + " is not another rank of this " +
                                std::to_string(c.size) + "-rank group (this is rank " + std::to_string(c.rank) + ")");
  }
}

}  // namespace

std::shared_ptr<gloo::Context> connectGroup(const GroupOptions& o) {
  if (o.size < 1 || o.rank < 0 || o.rank >= o.size) {
    throw std::invalid_argument("rank " + std::to_string(o.rank) + " is outside a group of size " +
                                std::to_string(o.size));
  }
  gloo::transport::tcp::attr attr;
  if (!o.hostname.empty()) attr.hostname = o.hostname;
  if (!o.iface.empty()) attr.iface = o.iface;
  auto dev = gloo::transport::tcp::CreateDevice(attr);
  SocketStore store(o.storeHost, o.storePort, o.prefix, o.timeout);
  auto ctx = std::make_shared<gloo::rendezvous::Context>(o.rank, o.size);
  ctx->setTimeout(o.timeout);
  ctx->connectFullMesh(store, dev);
  return ctx;
}

std::unique_ptr<gloo::transport::UnboundBuffer> postSend(gloo::Context& c, void* p, size_t bytes, int dst,
                                                          uint64_t tag) {
  checkPeer(c, dst, "send: destination");
  if (tag > kMaxTag) throw std::invalid_argument("send: tag must be below 2^56");
  auto b = c.createUnboundBuffer(p, bytes);
  b->send(dst, tag);
  return b;
}

std::unique_ptr<gloo::transport::UnboundBuffer> postRecv(gloo::Context& c, void* p, size_t bytes, int src,
                                                          uint64_t tag) {
  checkPeer(c, src, "recv: source");
  if (tag > kMaxTag) throw std::invalid_argument("recv: tag must be below 2^56");
  auto b = c.createUnboundBuffer(p, bytes);
  b->recv(src, tag);
  return b;
}

void waitSend(gloo::transport::UnboundBuffer& b, int dst, Ms timeout) {
  if (!b.waitSend(timeout)) {
    GLOO_THROW_IO_EXCEPTION("send to rank ", dst, " timed out after ", timeout.count(), "ms");
  }
}

void waitRecv(gloo::transport::UnboundBuffer& b, int src, Ms timeout) {
  if (!b.waitRecv(timeout)) {
    GLOO_THROW_IO_EXCEPTION("recv from rank ", src, " timed out after ", timeout.count(), "ms");
  }
}

void allreduceSumF32(const std::shared_ptr<gloo::Context>& c, float* p, size_t n, uint32_t tag, Ms timeout) {
  if (n == 0) return;
  gloo::AllreduceOptions opts(c);
  opts.setInput(p, n);
  opts.setOutput(p, n);
  opts.setReduceFunction(&sumF32);
  opts.setTag(tag);
  opts.setTimeout(timeout);
  gloo::allreduce(opts);
}

void alltoallv(const std::shared_ptr<gloo::Context>& c, const void* in, const std::vector<int64_t>& inBytes, void* out,
               const std::vector<int64_t>& outBytes, uint32_t tag, Ms timeout) {
  if (static_cast<int>(inBytes.size()) != c->size || static_cast<int>(outBytes.size()) != c->size) {
    throw std::invalid_argument("alltoallv: byte counts need one entry per rank (" + std::to_string(c->size) + ")");
  }
  gloo::AlltoallvOptions opts(c);
  // Gloo wants a non-const pointer for its unbound buffer; it only reads the input.
  opts.setInput(static_cast<uint8_t*>(const_cast<void*>(in)), inBytes);
  opts.setOutput(static_cast<uint8_t*>(out), outBytes);
  opts.setTag(tag);
  opts.setTimeout(timeout);
  gloo::alltoallv(opts);
}

void reduceScatterSumF32(const std::shared_ptr<gloo::Context>& c, const float* in, const std::vector<int64_t>& counts,
                         float* out, uint32_t tag, Ms timeout) {
  const int size = c->size;
  if (static_cast<int>(counts.size()) != size) {
    throw std::invalid_argument("reduceScatter: counts need one entry per rank (" + std::to_string(size) + ")");
  }
  const int64_t mine = counts[c->rank];
  std::vector<float> gathered(static_cast<size_t>(mine) * size);
  std::vector<int64_t> inBytes(size), outBytes(size, mine * 4);
  for (int r = 0; r < size; r++) inBytes[r] = counts[r] * 4;
  alltoallv(c, in, inBytes, gathered.data(), outBytes, tag, timeout);
  // Sum in rank order so that every DP layout gives the same float result.
  for (int64_t i = 0; i < mine; i++) out[i] = gathered[i];
  for (int r = 1; r < size; r++) {
    const float* g = gathered.data() + static_cast<size_t>(r) * mine;
    for (int64_t i = 0; i < mine; i++) out[i] += g[i];
  }
}

void allgather(const std::shared_ptr<gloo::Context>& c, const void* in, size_t bytes, void* out, uint32_t tag,
               Ms timeout) {
  gloo::AllgatherOptions opts(c);
  opts.setInput(static_cast<uint8_t*>(const_cast<void*>(in)), bytes);
  opts.setOutput(static_cast<uint8_t*>(out), bytes * c->size);
  opts.setTag(tag);
  opts.setTimeout(timeout);
  gloo::allgather(opts);
}

void barrier(const std::shared_ptr<gloo::Context>& c, uint32_t tag, Ms timeout) {
  gloo::BarrierOptions opts(c);
  opts.setTag(tag);
  opts.setTimeout(timeout);
  gloo::barrier(opts);
}

}  // namespace coll
}  // namespace moe
