// Registers the exported functions; nothing else.
#include "bind.h"

namespace {
NAN_MODULE_INIT(Init) {
  using namespace moe::bind;
  struct Entry { const char* name; Nan::FunctionCallback fn; };
  const Entry entries[] = {
      {"encodeF32", EncodeF32},         {"encodeBf16", EncodeBf16},
      {"decodeF32", DecodeF32},         {"decodeBf16", DecodeBf16},
      {"kernelInfo", KernelInfo},       {"setKernelPath", SetKernelPath},
      {"measurePeak", MeasurePeak},
      {"quantAct", QuantAct},           {"quantWeight", QuantWeight},
      {"dequantAct", DequantAct},       {"dequantWeight", DequantWeight},
      {"fp8Gemm", Fp8Gemm},             {"fp8GemmGrouped", Fp8GemmGrouped},
      {"packWeights", PackWeights},     {"fp8GemmGroupedPacked", Fp8GemmGroupedPacked},
      {"bf16Gemm", Bf16Gemm},           {"fp8GemmEmulated", Fp8GemmEmulated},
      {"fp8LinearBackward", Fp8LinearBackward}, {"fp8ExpertsBackward", Fp8ExpertsBackward},
      {"quantWeightStacked", QuantWeightStacked}, {"bf16GemmF32", Bf16GemmF32},
      {"fp8LinearForward", Fp8LinearForward},
      {"rmsnorm", RmsNorm},             {"swiglu", SwiGlu},
      {"softmax", Softmax},             {"rope", Rope},
      {"route", Route},                 {"routeBackward", RouteBackward},
      {"dispatchPlan", DispatchPlan},   {"dispatchRows", DispatchRows},
      {"dispatchBackward", DispatchBackward}, {"combine", Combine},
      {"combineBackward", CombineBackward},
      {"mlaAttention", MlaAttention},   {"kvWrite", KvWrite},
      {"kvRead", KvRead},               {"siluMulRows", SiluMulRows},
      {"matmulTF64", MatmulTF64},         {"rmsnormRows", RmsNormRows},
      {"moeCombineRows", MoeCombineRows}, {"gatherPairRows", GatherPairRows},
      {"addRows", AddRows},
      {"trainAdamw", TrainAdamw},       {"trainSumsq", TrainSumsq},
      {"trainScale", TrainScale},       {"trainAxpy", TrainAxpy},
      {"trainAttnFwd", TrainAttnFwd},   {"trainAttnBwd", TrainAttnBwd},
      {"trainRmsnormFwd", TrainRmsnormFwd}, {"trainRmsnormBwd", TrainRmsnormBwd},
      {"trainSwigluFwd", TrainSwigluFwd}, {"trainSwigluBwd", TrainSwigluBwd},
      {"trainRope", TrainRope}, {"trainEmbedFwd", TrainEmbedFwd}, {"trainEmbedBwd", TrainEmbedBwd},
      {"trainCrossEntropy", TrainCrossEntropy},
      {"trainSgemm", TrainSgemm},       {"trainTranspose", TrainTranspose},
      {"trainAmax", TrainAmax},         {"trainQuantActScaled", TrainQuantActScaled},
      {"trainQuantActCols", TrainQuantActCols}, {"trainFp8GemmT", TrainFp8GemmT},
  };
  for (const Entry& e : entries) Nan::SetMethod(target, e.name, e.fn);
}
}  // namespace

// Worker-enabled: the model may load the kernels from worker_threads too.
NAN_MODULE_WORKER_ENABLED(moe_native, Init)
