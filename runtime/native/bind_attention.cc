// Bindings: MLA attention over the compressed cache (kernels/mla.h) and the cache row codecs.
#include <algorithm>
#include <vector>

#include "bind.h"
#include "bind_util.h"
#include "mla.h"

namespace moe {
namespace bind {

namespace {
// A Uint8Array cache holding at least `rows` rows of `rb` bytes; null (after throwing) otherwise.
uint8_t* cache_arg(Args& a, v8::Local<v8::Value> v, const std::string& name, size_t rows, size_t rb) {
  if (!a.ok()) return nullptr;
  if (!v->IsUint8Array()) {
    a.fail(name + " must be a Uint8Array");
    return nullptr;
  }
  Nan::TypedArrayContents<uint8_t> c(v);
  size_t need;
  if (__builtin_mul_overflow(rows, rb, &need) || c.length() < need) {
    a.fail(name + " holds " + std::to_string(c.length()) + " bytes, " + std::to_string(rows) + " rows of " +
           std::to_string(rb) + " bytes need " + std::to_string(rows * rb));
    return nullptr;
  }
  return *c;
}

KvType kv_type(Args& a, int32_t v, const std::string& name) {
  if (a.ok() && (v < 0 || v > 2)) a.fail(name + " must be 0 (f32), 1 (bf16) or 2 (fp8), got " + std::to_string(v));
  return static_cast<KvType>(v);
}
}  // namespace

// mlaAttention(q, ckv, kpe, kvb, caches: Uint8Array[], types, L, n, row0: Int32Array[S], T, H, dn, dr, dv, kr, scale, o,
//              wuvT [H*kr*dv], cb?)
NAN_METHOD(MlaAttention) {
  Args a(info, "mlaAttention");
  const size_t T = a.size(9, "T"), H = a.size(10, "H"), dn = a.size(11, "dn"), dr = a.size(12, "dr"), dv = a.size(13, "dv"),
               kr = a.size(14, "kr");
  const double scale = a.number(15, "scale");
  if (a.ok() && (H == 0 || kr == 0 || dv == 0)) a.fail("H, kr and dv must be >= 1");
  if (a.ok() && !(scale > 0)) a.fail("scale must be > 0");
  const size_t qk = dn + dr;
  const float* q = a.array<float>(0, "q", a.mul(a.mul(T, H, "T*H"), qk, "T*H*(dn+dr)"));
  const float* ckv = a.array<float>(1, "ckv", a.mul(T, kr, "T*kr"));
  const float* kpe = a.array<float>(2, "kpe", a.mul(T, dr, "T*dr"));
  const float* kvb = a.array<float>(3, "kvb", a.mul(a.mul(H, dn + dv, "H*(dn+dv)"), kr, "H*(dn+dv)*kr"));
  float* o = a.array<float>(16, "o", a.mul(a.mul(T, H, "T*H"), dv, "T*H*dv"));
  const float* wuv_t = a.array<float>(17, "wuvT", a.mul(a.mul(H, kr, "H*kr"), dv, "H*kr*dv"));
  if (a.ok() && !info[4]->IsArray()) a.fail("caches must be an Array of Uint8Array");
  if (!a.ok()) return;
  v8::Local<v8::Array> arr = info[4].As<v8::Array>();
  const size_t S = arr->Length();
  const int32_t* types = a.array<int32_t>(5, "types", S);
  const int32_t* Ls = a.array<int32_t>(6, "L", S);
  const int32_t* ns = a.array<int32_t>(7, "n", S);
  const int32_t* r0 = a.array<int32_t>(8, "row0", S);
  if (!a.ok()) return;
  std::vector<MlaSeq> seqs(S);
  size_t next_row = 0;
  for (size_t i = 0; i < S && a.ok(); ++i) {
    const std::string at = "[" + std::to_string(i) + "]";
    if (Ls[i] < 0 || ns[i] < 1 || r0[i] < 0) {
      a.fail("sequence " + at + ": L must be >= 0, n >= 1 and row0 >= 0, got L " + std::to_string(Ls[i]) + ", n " +
             std::to_string(ns[i]) + ", row0 " + std::to_string(r0[i]));
      break;
    }
    const size_t L = Ls[i], n = ns[i], row0 = r0[i];
    if (row0 < next_row || row0 + n > T) {
      a.fail("sequence " + at + ": rows [" + std::to_string(row0) + ", " + std::to_string(row0 + n) +
             ") must lie in [0, T = " + std::to_string(T) + ") after the previous sequence's rows (ascending, no overlap)");
      break;
    }
    next_row = row0 + n;
    // Read the element before any check can throw: V8 calls with an exception pending would drop it.
    Nan::MaybeLocal<v8::Value> mv = Nan::Get(arr, static_cast<uint32_t>(i));
    if (mv.IsEmpty()) {
      a.fail("caches" + at + " could not be read");
      break;
    }
    const KvType t = kv_type(a, types[i], "types" + at);
    uint8_t* c = cache_arg(a, mv.ToLocalChecked(), "caches" + at, L + n, kv_row_bytes(t, kr, dr));
    seqs[i] = {c, t, L, n, row0};
  }
  if (!a.ok()) return;
  // Two sequences writing one cache would race on the pool: every cache must be its own memory.
  std::vector<std::pair<uint8_t*, uint8_t*>> spans(S);
  for (size_t i = 0; i < S; ++i) spans[i] = {seqs[i].cache, seqs[i].cache + (seqs[i].L + seqs[i].n) * kv_row_bytes(seqs[i].type, kr, dr)};
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < S; ++i)
    if (spans[i].first < spans[i - 1].second) return a.fail("two sequences share cache memory; each needs its own cache");
  MlaShape m{H, dn, dr, dv, kr, static_cast<float>(scale)};
  run_or_queue(info, 18, "mlaAttention", [=, seqs = std::move(seqs)] {
    mla_attention(m, seqs.data(), seqs.size(), q, ckv, kpe, kvb, wuv_t, o);
    return std::string();
  });
}

// kvWrite(cache, type, kr, dr, pos, n, ckv [n*kr], kpe [n*dr], cb?): encodes rows [pos, pos+n).
NAN_METHOD(KvWrite) {
  Args a(info, "kvWrite");
  const size_t kr = a.size(2, "kr"), dr = a.size(3, "dr"), pos = a.size(4, "pos"), n = a.size(5, "n");
  const KvType t = a.ok() && info[1]->IsInt32() ? kv_type(a, Nan::To<int32_t>(info[1]).FromJust(), "type") : (a.fail("type must be an integer"), KvType::F32);
  const float* ckv = a.array<float>(6, "ckv", a.mul(n, kr, "n*kr"));
  const float* kpe = a.array<float>(7, "kpe", a.mul(n, dr, "n*dr"));
  const size_t rb = kv_row_bytes(t, kr, dr);
  uint8_t* c = cache_arg(a, info[0], "cache", pos + n, rb);
  if (!a.ok()) return;
  run_or_queue(info, 8, "kvWrite", [=] {
    kv_encode_rows(t, ckv, kpe, n, kr, dr, c + pos * rb);
    return std::string();
  });
}

// kvRead(cache, type, kr, dr, pos, n, out [n*(kr+dr)], cb?): decodes rows [pos, pos+n) as c_kv | k_pe per row.
NAN_METHOD(KvRead) {
  Args a(info, "kvRead");
  const size_t kr = a.size(2, "kr"), dr = a.size(3, "dr"), pos = a.size(4, "pos"), n = a.size(5, "n");
  const KvType t = a.ok() && info[1]->IsInt32() ? kv_type(a, Nan::To<int32_t>(info[1]).FromJust(), "type") : (a.fail("type must be an integer"), KvType::F32);
  float* out = a.array<float>(6, "out", a.mul(n, kr + dr, "n*(kr+dr)"));
  const size_t rb = kv_row_bytes(t, kr, dr);
  const uint8_t* c = cache_arg(a, info[0], "cache", pos + n, rb);
  if (!a.ok()) return;
  run_or_queue(info, 7, "kvRead", [=] {
    kv_decode_rows(t, c + pos * rb, n, kr, dr, out);
    return std::string();
  });
}

}  // namespace bind
}  // namespace moe
