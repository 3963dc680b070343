// Bindings: FP8 codecs and kernel-path control.
#include "bind.h"
#include "bind_util.h"
#include "cpu.h"
#include "fp8.h"
#include "peak.h"

namespace moe {
namespace bind {

namespace {
Fp8Format format_arg(Args& a, int i) {
  size_t f = a.size(i, "format");
  if (a.ok() && f > 1) a.fail("format must be 0 (e4m3) or 1 (e5m2)");
  return static_cast<Fp8Format>(f);
}
}  // namespace

// encodeF32(x: Float32Array, out: Uint8Array, format, saturate, cb?)
NAN_METHOD(EncodeF32) {
  Args a(info, "encodeF32");
  size_t n = info[0]->IsFloat32Array() ? Nan::TypedArrayContents<float>(info[0]).length() : 0;
  const float* x = a.array<float>(0, "x", n);
  uint8_t* out = a.array<uint8_t>(1, "out", n);
  Fp8Format f = format_arg(a, 2);
  bool sat = a.flag(3, "saturate");
  if (!a.ok()) return;
  run_or_queue(info, 4, "encodeF32", [=] { fp8_encode_f32(x, out, n, f, sat); return std::string(); });
}

// encodeBf16(x: Uint16Array, out: Uint8Array, format, saturate, cb?)
NAN_METHOD(EncodeBf16) {
  Args a(info, "encodeBf16");
  size_t n = info[0]->IsUint16Array() ? Nan::TypedArrayContents<uint16_t>(info[0]).length() : 0;
  const uint16_t* x = a.array<uint16_t>(0, "x", n);
  uint8_t* out = a.array<uint8_t>(1, "out", n);
  Fp8Format f = format_arg(a, 2);
  bool sat = a.flag(3, "saturate");
  if (!a.ok()) return;
  run_or_queue(info, 4, "encodeBf16", [=] { fp8_encode_bf16(x, out, n, f, sat); return std::string(); });
}

// decodeF32(codes: Uint8Array, out: Float32Array, format, cb?)
NAN_METHOD(DecodeF32) {
  Args a(info, "decodeF32");
  size_t n = info[0]->IsUint8Array() ? Nan::TypedArrayContents<uint8_t>(info[0]).length() : 0;
  const uint8_t* c = a.array<uint8_t>(0, "codes", n);
  float* out = a.array<float>(1, "out", n);
  Fp8Format f = format_arg(a, 2);
  if (!a.ok()) return;
  run_or_queue(info, 3, "decodeF32", [=] { fp8_decode_f32(c, out, n, f); return std::string(); });
}

// decodeBf16(codes: Uint8Array, out: Uint16Array, format, cb?)
NAN_METHOD(DecodeBf16) {
  Args a(info, "decodeBf16");
  size_t n = info[0]->IsUint8Array() ? Nan::TypedArrayContents<uint8_t>(info[0]).length() : 0;
  const uint8_t* c = a.array<uint8_t>(0, "codes", n);
  uint16_t* out = a.array<uint16_t>(1, "out", n);
  Fp8Format f = format_arg(a, 2);
  if (!a.ok()) return;
  run_or_queue(info, 3, "decodeBf16", [=] { fp8_decode_bf16(c, out, n, f); return std::string(); });
}

// kernelInfo() -> { path, detected, threads }
NAN_METHOD(KernelInfo) {
  v8::Local<v8::Object> o = Nan::New<v8::Object>();
  Nan::Set(o, Nan::New("path").ToLocalChecked(), Nan::New(path_name(current_path())).ToLocalChecked());
  Nan::Set(o, Nan::New("detected").ToLocalChecked(), Nan::New(path_name(detected_path())).ToLocalChecked());
  Nan::Set(o, Nan::New("threads").ToLocalChecked(), Nan::New(num_threads()));
  info.GetReturnValue().Set(o);
}

// measurePeak(seconds) -> { fmaFp32, amxBf16 } GFLOP/s over all pool threads (0 where absent)
NAN_METHOD(MeasurePeak) {
  Args a(info, "measurePeak");
  double s = a.number(0, "seconds");
  if (a.ok() && !(s > 0 && s <= 10)) a.fail("seconds must be in (0, 10]");
  if (!a.ok()) return;
  v8::Local<v8::Object> o = Nan::New<v8::Object>();
  Nan::Set(o, Nan::New("fmaFp32").ToLocalChecked(), Nan::New(peak_fma_gflops(s)));
  Nan::Set(o, Nan::New("amxBf16").ToLocalChecked(), Nan::New(peak_amx_bf16_gflops(s)));
  info.GetReturnValue().Set(o);
}

// setKernelPath(name: 'reference' | 'avx2' | 'avx512' | 'amx')
NAN_METHOD(SetKernelPath) {
  if (info.Length() < 1 || !info[0]->IsString()) return Nan::ThrowTypeError("setKernelPath: path must be a string");
  Nan::Utf8String s(info[0]);
  std::string name(*s ? *s : "");
  KernelPath p;
  if (name == "reference") p = KernelPath::Reference;
  else if (name == "avx2") p = KernelPath::Avx2;
  else if (name == "avx512") p = KernelPath::Avx512;
  else if (name == "amx") p = KernelPath::Amx;
  else return Nan::ThrowTypeError(("setKernelPath: unknown path '" + name + "', expected reference|avx2|avx512|amx").c_str());
  if (!set_kernel_path(p))
    return Nan::ThrowError(("setKernelPath: this CPU cannot run '" + name + "' (best: " +
                            path_name(detected_path()) + ")").c_str());
}

}  // namespace bind
}  // namespace moe
