// Registers the exported functions; nothing else.
#include "bind.h"

namespace {
NAN_MODULE_INIT(Init) {
  using namespace moe::coll;
  Nan::SetMethod(target, "connect", Connect);
  Nan::SetMethod(target, "close", Close);
  Nan::SetMethod(target, "send", Send);
  Nan::SetMethod(target, "recv", Recv);
  Nan::SetMethod(target, "allreduce", Allreduce);
  Nan::SetMethod(target, "alltoallv", Alltoallv);
  Nan::SetMethod(target, "reduceScatter", ReduceScatter);
  Nan::SetMethod(target, "allgather", Allgather);
  Nan::SetMethod(target, "barrier", Barrier);
}
}  // namespace

NODE_MODULE(moe_collectives, Init)
