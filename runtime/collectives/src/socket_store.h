// gloo::rendezvous::Store over one TCP connection to the key-value store that rank 0 serves from TypeScript
// (runtime/src/comm/rendezvous-server.ts). Gloo's threads call it while the JS event loop stays free to serve it.
// Wire format (little-endian; runtime/src/comm/rendezvous-protocol.ts is the full definition):
//   request  u8 op, u32 id, u32 len, body
//            'S' body = u32 klen, key, value
//            'G' body = u32 timeoutMs, key                -> the value once the key exists
//   reply    u32 id, u8 status (0 ok, 1 timeout, 2 error: bytes = message), u32 len, bytes
// This client keeps one request in flight, so its ids are always 0.
#pragma once
#include <gloo/rendezvous/store.h>

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

namespace moe {
namespace coll {

class SocketStore : public gloo::rendezvous::Store {
 public:
  // Connects (retrying until timeout) to host:port; every key is prefixed with `prefix` so that several
  // process groups can share one store.
  SocketStore(const std::string& host, int port, const std::string& prefix, std::chrono::milliseconds timeout);
  ~SocketStore() override;

  void set(const std::string& key, const std::vector<char>& data) override;
  std::vector<char> get(const std::string& key) override;
  void wait(const std::vector<std::string>& keys) override;
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override;

 private:
  // Sends one request and reads its reply; throws gloo::IoException on a broken connection or an error reply.
  uint8_t roundTrip(const std::vector<char>& request, std::vector<char>& reply);
  std::vector<char> getWithTimeout(const std::string& key, std::chrono::milliseconds timeout);

  std::string host_;
  int port_;
  std::string prefix_;
  std::chrono::milliseconds timeout_;
  int fd_ = -1;
  std::mutex mu_;
};

}  // namespace coll
}  // namespace moe
