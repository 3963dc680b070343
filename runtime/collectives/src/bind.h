// The exported functions, one group per .cc file.
#pragma once
#include <nan.h>

namespace moe {
namespace coll {
NAN_METHOD(Connect);
NAN_METHOD(Close);
NAN_METHOD(Send);
NAN_METHOD(Recv);
NAN_METHOD(Allreduce);
NAN_METHOD(Alltoallv);
NAN_METHOD(ReduceScatter);
NAN_METHOD(Allgather);
NAN_METHOD(Barrier);
}  // namespace coll
}  // namespace moe
