// send/recv over unbound buffers. The async form posts the operation on the JS thread (non-blocking), so the order
// in which the program issues sends and receives is the order Gloo sees, and only the wait runs on the pool.
#include <gloo/transport/unbound_buffer.h>

#include "bind.h"
#include "bind_util.h"
#include "group.h"

namespace moe {
namespace coll {
namespace {

using Buf = std::shared_ptr<gloo::transport::UnboundBuffer>;

// (handle, buffer, peer, tag, timeoutMs, cb?)
void pointToPoint(const Info& info, bool isSend) {
  const char* fn = isSend ? "send" : "recv";
  std::shared_ptr<gloo::Context> c;
  Bytes b;
  int64_t peer = 0, tag = 0, timeout = 0;
  if (!groupArg(info, 0, fn, &c) || !bytesArg(info, 1, fn, "buffer", &b) ||
      !intArg(info, 2, fn, isSend ? "destination rank" : "source rank", 0, INT32_MAX, &peer) ||
      !intArg(info, 3, fn, "tag", 0, (int64_t(1) << 53) - 1, &tag) ||
      !intArg(info, 4, fn, "timeoutMs", 1, INT32_MAX, &timeout)) {
    return;
  }
  Buf buf;
  try {
    buf = isSend ? Buf(postSend(*c, b.data, b.size, static_cast<int>(peer), static_cast<uint64_t>(tag)))
                 : Buf(postRecv(*c, b.data, b.size, static_cast<int>(peer), static_cast<uint64_t>(tag)));
  } catch (const std::exception& e) {
    Nan::ThrowError((std::string(fn) + ": " + e.what()).c_str());
    return;
  }
  int p = static_cast<int>(peer);
  Ms t(timeout);
  runJob(
      info, 5, fn,
      [buf, c, p, t, isSend]() {
        if (isSend) {
          waitSend(*buf, p, t);
        } else {
          waitRecv(*buf, p, t);
        }
      },
      {info[1]});
}

}  // namespace

NAN_METHOD(Send) { pointToPoint(info, true); }
NAN_METHOD(Recv) { pointToPoint(info, false); }

}  // namespace coll
}  // namespace moe
