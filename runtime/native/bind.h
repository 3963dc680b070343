// The exported functions, one group per bind_*.cc; addon.cc registers them.
#pragma once
#include <nan.h>

namespace moe {
namespace bind {
NAN_METHOD(EncodeF32);
NAN_METHOD(EncodeBf16);
NAN_METHOD(DecodeF32);
NAN_METHOD(DecodeBf16);
NAN_METHOD(KernelInfo);
NAN_METHOD(SetKernelPath);
NAN_METHOD(MeasurePeak);
NAN_METHOD(QuantAct);
NAN_METHOD(QuantWeight);
NAN_METHOD(DequantAct);
NAN_METHOD(DequantWeight);
NAN_METHOD(Fp8Gemm);
NAN_METHOD(Fp8GemmGrouped);
NAN_METHOD(PackWeights);
NAN_METHOD(Fp8GemmGroupedPacked);
NAN_METHOD(Bf16Gemm);
NAN_METHOD(Fp8GemmEmulated);
NAN_METHOD(Fp8LinearBackward);
NAN_METHOD(Fp8ExpertsBackward);
NAN_METHOD(QuantWeightStacked);
NAN_METHOD(Bf16GemmF32);
NAN_METHOD(Fp8LinearForward);
NAN_METHOD(RmsNorm);
NAN_METHOD(SwiGlu);
NAN_METHOD(Softmax);
NAN_METHOD(Rope);
NAN_METHOD(Route);
NAN_METHOD(RouteBackward);
NAN_METHOD(DispatchPlan);
NAN_METHOD(DispatchRows);
NAN_METHOD(DispatchBackward);
NAN_METHOD(Combine);
NAN_METHOD(CombineBackward);
NAN_METHOD(MlaAttention);
NAN_METHOD(KvWrite);
NAN_METHOD(KvRead);
NAN_METHOD(SiluMulRows);
NAN_METHOD(MatmulTF64);
NAN_METHOD(RmsNormRows);
NAN_METHOD(MoeCombineRows);
NAN_METHOD(GatherPairRows);
NAN_METHOD(AddRows);
// Training ops (bind_train.cc).
NAN_METHOD(TrainAdamw);
NAN_METHOD(TrainSumsq);
NAN_METHOD(TrainScale);
NAN_METHOD(TrainAxpy);
NAN_METHOD(TrainAttnFwd);
NAN_METHOD(TrainAttnBwd);
NAN_METHOD(TrainRmsnormFwd);
NAN_METHOD(TrainRmsnormBwd);
NAN_METHOD(TrainSwigluFwd);
NAN_METHOD(TrainRope);
NAN_METHOD(TrainEmbedFwd);
NAN_METHOD(TrainEmbedBwd);
NAN_METHOD(TrainSwigluBwd);
NAN_METHOD(TrainCrossEntropy);
NAN_METHOD(TrainQuantActCols);
NAN_METHOD(TrainFp8GemmT);
NAN_METHOD(TrainSgemm);
NAN_METHOD(TrainTranspose);
NAN_METHOD(TrainAmax);
NAN_METHOD(TrainQuantActScaled);
}  // namespace bind
}  // namespace moe
