// Process groups and collectives over Gloo's TCP transport. Plain C++: no nan or V8 here. Every call blocks its
// thread until done or `timeout` passes and throws gloo::Exception (or std::invalid_argument) with the reason.
#pragma once
#include <gloo/context.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace moe {
namespace coll {

using Ms = std::chrono::milliseconds;

struct GroupOptions {
  int rank = 0;
  int size = 1;
  std::string storeHost;  // where rank 0's key-value store listens (MASTER_ADDR)
  int storePort = 0;      // MASTER_PORT
  std::string prefix;     // store key prefix: one per process group
  std::string hostname;   // address this rank's Gloo device listens on (its pod IP / DNS name); empty = use iface
  std::string iface;      // network interface instead of hostname
  Ms timeout{30000};      // rendezvous and default per-operation timeout
};

// Rendezvous through the store, then connect a full mesh of TCP pairs.
std::shared_ptr<gloo::Context> connectGroup(const GroupOptions& o);

// Point-to-point over unbound buffers; `tag` (< 2^56) picks the slot so that messages never cross.
std::unique_ptr<gloo::transport::UnboundBuffer> postSend(gloo::Context& c, void* p, size_t bytes, int dst, uint64_t tag);
std::unique_ptr<gloo::transport::UnboundBuffer> postRecv(gloo::Context& c, void* p, size_t bytes, int src, uint64_t tag);
void waitSend(gloo::transport::UnboundBuffer& b, int dst, Ms timeout);
void waitRecv(gloo::transport::UnboundBuffer& b, int src, Ms timeout);

void allreduceSumF32(const std::shared_ptr<gloo::Context>& c, float* p, size_t n, uint32_t tag, Ms timeout);
// bytes[r]: how many bytes go to (in) or come from (out) rank r, packed in rank order.
void alltoallv(const std::shared_ptr<gloo::Context>& c, const void* in, const std::vector<int64_t>& inBytes, void* out,
               const std::vector<int64_t>& outBytes, uint32_t tag, Ms timeout);
// in: sum(counts) floats, block r destined for rank r; out: counts[rank] floats = the sum of every rank's block.
// Built on Gloo's alltoallv (each rank moves (size-1)/size of the data, as a ring reduce-scatter does) + a local sum.
void reduceScatterSumF32(const std::shared_ptr<gloo::Context>& c, const float* in, const std::vector<int64_t>& counts,
                         float* out, uint32_t tag, Ms timeout);
// out = size × bytes: every rank's `in` in rank order.
void allgather(const std::shared_ptr<gloo::Context>& c, const void* in, size_t bytes, void* out, uint32_t tag,
               Ms timeout);
void barrier(const std::shared_ptr<gloo::Context>& c, uint32_t tag, Ms timeout);

}  // namespace coll
}  // namespace moe
