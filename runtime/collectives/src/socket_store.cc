#include "socket_store.h"

#include <gloo/common/error.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace moe {
namespace coll {
namespace {

void putU32(std::vector<char>& b, uint32_t v) {
  for (int i = 0; i < 4; i++) b.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void putBytes(std::vector<char>& b, const char* p, size_t n) {
  putU32(b, static_cast<uint32_t>(n));
  b.insert(b.end(), p, p + n);
}

// op u8, id u32 (always 0: one request in flight), body length u32, body.
std::vector<char> frame(char op, const std::vector<char>& body) {
  std::vector<char> f{op};
  putU32(f, 0);
  putBytes(f, body.data(), body.size());
  return f;
}

bool writeAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool readAll(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = ::recv(fd, p, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

// One attempt to open a TCP connection to host:port; -1 when nothing listens yet.
int connectOnce(const std::string& host, int port, std::string& why) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0) {
    why = std::string("cannot resolve ") + host + ": " + gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    why = std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd >= 0) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  return fd;
}

}  // namespace

SocketStore::SocketStore(const std::string& host, int port, const std::string& prefix,
                         std::chrono::milliseconds timeout)
    : host_(host), port_(port), prefix_(prefix), timeout_(timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string why = "no attempt";
  while (true) {
    fd_ = connectOnce(host, port, why);
    if (fd_ >= 0) return;
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  GLOO_THROW_IO_EXCEPTION("store at ", host, ":", port, " unreachable for ", timeout.count(), "ms (", why, ")");
}

SocketStore::~SocketStore() {
  if (fd_ >= 0) ::close(fd_);
}

uint8_t SocketStore::roundTrip(const std::vector<char>& request, std::vector<char>& reply) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!writeAll(fd_, request.data(), request.size())) {
    GLOO_THROW_IO_EXCEPTION("store at ", host_, ":", port_, " closed the connection (rank 0 lost?)");
  }
  char head[9];  // u32 id (always 0: one request in flight), u8 status, u32 len
  if (!readAll(fd_, head, sizeof(head))) {
    GLOO_THROW_IO_EXCEPTION("store at ", host_, ":", port_, " closed the connection (rank 0 lost?)");
  }
  uint32_t len = 0;
  for (int i = 0; i < 4; i++) len |= static_cast<uint32_t>(static_cast<uint8_t>(head[5 + i])) << (8 * i);
  reply.resize(len);
  if (len > 0 && !readAll(fd_, reply.data(), len)) {
    GLOO_THROW_IO_EXCEPTION("store at ", host_, ":", port_, " closed the connection mid-reply");
  }
  return static_cast<uint8_t>(head[4]);
}

void SocketStore::set(const std::string& key, const std::vector<char>& data) {
  std::string k = prefix_ + key;
  std::vector<char> body;
  putBytes(body, k.data(), k.size());
  body.insert(body.end(), data.begin(), data.end());
  std::vector<char> reply;
  if (roundTrip(frame('S', body), reply) != 0) {
    GLOO_THROW_IO_EXCEPTION("store set ", k, " failed: ", std::string(reply.begin(), reply.end()));
  }
}

std::vector<char> SocketStore::getWithTimeout(const std::string& key, std::chrono::milliseconds timeout) {
  std::string k = prefix_ + key;
  std::vector<char> body;
  putU32(body, static_cast<uint32_t>(timeout.count() < 0 ? 0 : timeout.count()));
  body.insert(body.end(), k.begin(), k.end());
  std::vector<char> reply;
  uint8_t status = roundTrip(frame('G', body), reply);
  if (status == 1) {
    GLOO_THROW_IO_EXCEPTION("store key ", k, " did not appear within ", timeout.count(), "ms (a rank never arrived)");
  }
  if (status != 0) {
    GLOO_THROW_IO_EXCEPTION("store get ", k, " failed: ", std::string(reply.begin(), reply.end()));
  }
  return reply;
}

std::vector<char> SocketStore::get(const std::string& key) { return getWithTimeout(key, timeout_); }

void SocketStore::wait(const std::vector<std::string>& keys) { wait(keys, timeout_); }

void SocketStore::wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto& k : keys) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    getWithTimeout(k, left.count() > 0 ? left : std::chrono::milliseconds(0));
  }
}

}  // namespace coll
}  // namespace moe
