#include "routing.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "cpu.h"
#include "fp8.h"

namespace moe {

namespace {

inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// Weights from the unbiased scores of the chosen experts, in selection order.
void finish(const float* s, const int32_t* sel, size_t k, float scale, float* w) {
  float sum = 0.0f;
  for (size_t j = 0; j < k; ++j) sum += s[sel[j]];
  for (size_t j = 0; j < k; ++j) w[j] = s[sel[j]] / sum * scale;
}

// Reference: full stable sorts, the algorithm as written.
void route_token_ref(const float* x, const float* bias, const RouteParams& p, int32_t* sel, float* w) {
  const size_t E = p.experts, G = p.groups, per = E / G;
  std::vector<float> s(E), b(E);
  for (size_t e = 0; e < E; ++e) {
    s[e] = sigmoid(x[e]);
    b[e] = s[e] + bias[e];
  }
  std::vector<float> gscore(G);
  for (size_t g = 0; g < G; ++g) {
    std::vector<float> v(b.begin() + g * per, b.begin() + (g + 1) * per);
    std::sort(v.begin(), v.end(), std::greater<float>());
    gscore[g] = per >= 2 ? v[0] + v[1] : v[0];
  }
  std::vector<size_t> gorder(G);
  std::iota(gorder.begin(), gorder.end(), 0);
  std::stable_sort(gorder.begin(), gorder.end(), [&](size_t a, size_t c) { return gscore[a] > gscore[c]; });
  std::vector<bool> keep(G, false);
  for (size_t i = 0; i < p.topk_group; ++i) keep[gorder[i]] = true;
  std::vector<size_t> cand;
  for (size_t e = 0; e < E; ++e)
    if (keep[e / per]) cand.push_back(e);
  std::stable_sort(cand.begin(), cand.end(), [&](size_t a, size_t c) { return b[a] > b[c]; });
  for (size_t j = 0; j < p.topk; ++j) sel[j] = static_cast<int32_t>(cand[j]);
  finish(s.data(), sel, p.topk, p.scale, w);
}

// Fast: one insertion pass for the top-k, arg-max scans for the groups, scratch reused per thread.
void route_token_fast(const float* x, const float* bias, const RouteParams& p, float* s, float* b,
                      float* gscore, int32_t* sel, float* w) {
  const size_t E = p.experts, G = p.groups, per = E / G;
  for (size_t e = 0; e < E; ++e) {
    s[e] = sigmoid(x[e]);
    b[e] = s[e] + bias[e];
  }
  for (size_t g = 0; g < G; ++g) {
    float m1 = -INFINITY, m2 = -INFINITY;
    for (size_t e = g * per; e < (g + 1) * per; ++e) {
      float v = b[e];
      if (v > m1) { m2 = m1; m1 = v; }
      else if (v > m2) m2 = v;
    }
    gscore[g] = per >= 2 ? m1 + m2 : m1;
  }
  if (p.topk_group < G) {
    // Pick topk_group groups (first maximum wins), then mask the rest out of b.
    uint64_t kept_small[4] = {0, 0, 0, 0};
    std::vector<uint8_t> kept_big;
    uint8_t* kept = reinterpret_cast<uint8_t*>(kept_small);
    if (G > sizeof(kept_small)) { kept_big.assign(G, 0); kept = kept_big.data(); }
    for (size_t i = 0; i < p.topk_group; ++i) {
      size_t best = G;
      for (size_t g = 0; g < G; ++g)
        if (!kept[g] && (best == G || gscore[g] > gscore[best])) best = g;
      kept[best] = 1;
    }
    for (size_t g = 0; g < G; ++g)
      if (!kept[g])
        for (size_t e = g * per; e < (g + 1) * per; ++e) b[e] = -INFINITY;
  }
  // One pass keeping the k best in order; an equal score never displaces an earlier (lower) index.
  size_t n = 0;
  for (size_t e = 0; e < E; ++e) {
    float v = b[e];
    if (v == -INFINITY) continue;  // masked group
    if (n == p.topk && !(v > b[sel[n - 1]])) continue;
    size_t pos = n < p.topk ? n++ : n - 1;
    while (pos > 0 && v > b[sel[pos - 1]]) {
      sel[pos] = sel[pos - 1];
      --pos;
    }
    sel[pos] = static_cast<int32_t>(e);
  }
  finish(s, sel, p.topk, p.scale, w);
}

}  // namespace

long long route(const float* logits, const float* bias, const RouteParams& p, int32_t* idx, float* weights,
                int32_t* counts) {
  const size_t T = p.tokens, E = p.experts, k = p.topk;
  for (size_t i = 0; i < T * E; ++i)
    if (!std::isfinite(logits[i])) return static_cast<long long>(i);
  for (size_t e = 0; e < E; ++e)
    if (!std::isfinite(bias[e])) return static_cast<long long>(T * E + e);
  if (current_path() == KernelPath::Reference) {
    for (size_t t = 0; t < T; ++t) route_token_ref(logits + t * E, bias, p, idx + t * k, weights + t * k);
  } else {
    parallel_for(T, 64, [&](size_t t0, size_t t1) {
      std::vector<float> s(E), b(E), g(p.groups);
      for (size_t t = t0; t < t1; ++t)
        route_token_fast(logits + t * E, bias, p, s.data(), b.data(), g.data(), idx + t * k, weights + t * k);
    });
  }
  std::fill(counts, counts + E, 0);
  for (size_t i = 0; i < T * k; ++i) ++counts[idx[i]];
  return -1;
}

void route_backward(const float* logits, const int32_t* idx, const float* dw, const RouteParams& p,
                    float* dlogits) {
  const size_t E = p.experts, k = p.topk;
  std::fill(dlogits, dlogits + p.tokens * E, 0.0f);
  parallel_for(p.tokens, 64, [&](size_t t0, size_t t1) {
    std::vector<double> s(k);
    for (size_t t = t0; t < t1; ++t) {
      double S = 0, dot = 0;
      for (size_t j = 0; j < k; ++j) {
        s[j] = sigmoid(logits[t * E + idx[t * k + j]]);
        S += s[j];
        dot += dw[t * k + j] * s[j];
      }
      // w_j = scale * s_j / S  =>  dL/ds_j = scale * (dw_j / S - sum_l dw_l s_l / S^2)
      for (size_t j = 0; j < k; ++j) {
        double ds = p.scale * (dw[t * k + j] / S - dot / (S * S));
        dlogits[t * E + idx[t * k + j]] += static_cast<float>(ds * s[j] * (1.0 - s[j]));
      }
    }
  });
}

void dispatch_plan(const int32_t* idx, size_t T, size_t k, size_t E, int32_t* offsets, int32_t* slot_of_row,
                   int32_t* row_of_slot) {
  std::fill(offsets, offsets + E + 1, 0);
  for (size_t i = 0; i < T * k; ++i) ++offsets[idx[i] + 1];
  for (size_t e = 0; e < E; ++e) offsets[e + 1] += offsets[e];
  std::vector<int32_t> next(offsets, offsets + E);
  for (size_t i = 0; i < T * k; ++i) {  // slots in token order: stable within each expert
    int32_t r = next[idx[i]]++;
    slot_of_row[r] = static_cast<int32_t>(i);
    row_of_slot[i] = r;
  }
}

void dispatch_rows(const uint8_t* x, size_t row_bytes, const int32_t* slot_of_row, size_t rows, size_t k,
                   uint8_t* out) {
  parallel_for(rows, 64, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r)
      std::memcpy(out + r * row_bytes, x + (slot_of_row[r] / k) * row_bytes, row_bytes);
  });
}

void dispatch_backward(const float* dout, const int32_t* row_of_slot, size_t T, size_t k, size_t D, float* dx) {
  parallel_for(T, 16, [&](size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; ++t) {
      float* o = dx + t * D;
      std::fill(o, o + D, 0.0f);
      for (size_t j = 0; j < k; ++j) {
        const float* src = dout + static_cast<size_t>(row_of_slot[t * k + j]) * D;
        for (size_t d = 0; d < D; ++d) o[d] += src[d];
      }
    }
  });
}

namespace {
inline float widen(float v) { return v; }
inline float widen(uint16_t v) { return bf16_to_f32(v); }

template <typename T>
void combine_rows(const T* eo, const float* w, const int32_t* row_of_slot, size_t Tn, size_t k, size_t D, float* y) {
  // Column chunks across all k rows at once: k streams in flight hide the latency of the random rows,
  // and y is written once.
  constexpr size_t kChunk = 256;
  parallel_for(Tn, 16, [&](size_t t0, size_t t1) {
    std::vector<const T*> src(k);
    alignas(64) float acc[kChunk];
    for (size_t t = t0; t < t1; ++t) {
      for (size_t j = 0; j < k; ++j) src[j] = eo + static_cast<size_t>(row_of_slot[t * k + j]) * D;
      for (size_t d0 = 0; d0 < D; d0 += kChunk) {
        size_t n = std::min(kChunk, D - d0);
        for (size_t d = 0; d < n; ++d) acc[d] = 0.0f;
        for (size_t j = 0; j < k; ++j) {
          const T* __restrict s = src[j] + d0;
          float wj = w[t * k + j];
          for (size_t d = 0; d < n; ++d) acc[d] += wj * widen(s[d]);
        }
        std::memcpy(y + t * D + d0, acc, n * 4);
      }
    }
  });
}
}  // namespace

void combine(const float* eo, const float* w, const int32_t* row_of_slot, size_t T, size_t k, size_t D, float* y) {
  combine_rows(eo, w, row_of_slot, T, k, D, y);
}

void combine_bf16(const uint16_t* eo, const float* w, const int32_t* row_of_slot, size_t T, size_t k, size_t D,
                  float* y) {
  combine_rows(eo, w, row_of_slot, T, k, D, y);
}

void combine_backward(const float* dy, const float* eo, const float* w, const int32_t* row_of_slot, size_t T,
                      size_t k, size_t D, float* deo, float* dw) {
  parallel_for(T, 16, [&](size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; ++t) {
      const float* g = dy + t * D;
      for (size_t j = 0; j < k; ++j) {
        size_t r = static_cast<size_t>(row_of_slot[t * k + j]);
        const float* src = eo + r * D;
        float* d = deo + r * D;
        float wj = w[t * k + j], dot = 0.0f;
        for (size_t i = 0; i < D; ++i) {
          d[i] = wj * g[i];
          dot += g[i] * src[i];
        }
        dw[t * k + j] = dot;
      }
    }
  });
}

}  // namespace moe
