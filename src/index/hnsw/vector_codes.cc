#include "index/hnsw/vector_codes.h"

#include <algorithm>
#include <cmath>

namespace vecdex::hnsw {

void NormalizeInPlace(float* x, size_t d) {
  double norm_sq = 0;
  for (size_t i = 0; i < d; ++i) norm_sq += static_cast<double>(x[i]) * x[i];
  if (norm_sq == 0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(norm_sq));
  for (size_t i = 0; i < d; ++i) x[i] *= inv;
}

Int8Codec::Int8Codec(size_t dim, Metric metric, const simd::KernelTable& kernels, simd::Int8Ranges ranges)
    : dim_(dim), metric_(metric), kernel_(kernels.dot_i8), ranges_(std::move(ranges)) {
  scale_sq_.resize(dim_);
  offset_scale_.resize(dim_);
  double offset_sq = 0;
  for (size_t i = 0; i < dim_; ++i) {
    scale_sq_[i] = ranges_.scale[i] * ranges_.scale[i];
    offset_scale_[i] = ranges_.offset[i] * ranges_.scale[i];
    offset_sq += static_cast<double>(ranges_.offset[i]) * ranges_.offset[i];
  }
  offset_sq_sum_ = static_cast<float>(offset_sq);
}

float Int8Codec::QuantizeScaled(QueryCode* q, float max_abs) const {
  const float t = max_abs > 0.0f ? max_abs / 127.0f : 1.0f;
  const float inv_t = 1.0f / t;
  const float* u = q->scratch.data();
  q->codes.resize(dim_);
  int8_t* codes = q->codes.data();
  for (size_t i = 0; i < dim_; ++i) {
    // |u_i * inv_t| <= 127 (up to rounding): round half away from zero by truncation.
    const float r = u[i] * inv_t;
    const float clamped = std::min(127.0f, std::max(-127.0f, r + std::copysign(0.5f, r)));
    codes[i] = static_cast<int8_t>(static_cast<int>(clamped));
  }
  q->i8 = codes;
  return t;
}

void Int8Codec::Encode(const float* x, uint8_t* code) const {
  int8_t* c = reinterpret_cast<int8_t*>(code + sizeof(float));
  simd::QuantizeInt8(x, dim_, ranges_, c);
  // The term is computed from the codes, not from x, so that it matches what the kernel sees.
  double term = 0;
  for (size_t i = 0; i < dim_; ++i) {
    const double v = static_cast<double>(ranges_.scale[i]) * c[i];
    term += v * v;
  }
  const float term_f = static_cast<float>(term);
  std::memcpy(code, &term_f, sizeof(term_f));
}

void Int8Codec::Decode(const uint8_t* code, float* out) const {
  simd::DequantizeInt8(reinterpret_cast<const int8_t*>(code + sizeof(float)), dim_, ranges_, out);
}

void Int8Codec::PrepareAs(const float* x, Metric form, QueryCode* q) const {
  const float* o = ranges_.offset.data();
  const float* s = ranges_.scale.data();
  const bool l2 = form == Metric::kL2;
  // u_i = (x_i - o_i) * s_i for L2, x_i * s_i otherwise (see the header comment). Branch-free
  // float loops: this runs once per query and once per heuristic candidate of the build.
  float max_abs = 0.0f, q_minus_o_sq = 0.0f, q_dot_o = 0.0f;
  const float centre = l2 ? 1.0f : 0.0f;
  std::vector<float>& u = q->scratch;
  u.resize(dim_);
  for (size_t i = 0; i < dim_; ++i) {
    const float centered = x[i] - o[i];
    u[i] = (x[i] - centre * o[i]) * s[i];
    max_abs = std::max(max_abs, std::fabs(u[i]));
    q_minus_o_sq += centered * centered;
    q_dot_o += x[i] * o[i];
  }
  const float t = QuantizeScaled(q, max_abs);
  switch (form) {
    case Metric::kL2:
      q->bias = q_minus_o_sq;
      q->scale = -2.0f * t;
      q->term_weight = 1.0f;
      break;
    case Metric::kInnerProduct:
      q->bias = -q_dot_o;
      q->scale = -t;
      q->term_weight = 0.0f;
      break;
    case Metric::kCosine:
      q->bias = 1.0f - q_dot_o;
      q->scale = -t;
      q->term_weight = 0.0f;
      break;
  }
}

// A stored code as a query, without decoding: with x_i = o_i + s_i c_i,
//   L2 form:  u_i = (x_i - o_i) s_i = s_i^2 c_i,      bias = |x - o|^2 = the stored term;
//   dot form: u_i = x_i s_i = o_i s_i + s_i^2 c_i,    x.o = sum o_i^2 + sum (o_i s_i) c_i.
void Int8Codec::PrepareCodeAs(const uint8_t* code, Metric form, QueryCode* q) const {
  const int8_t* c = reinterpret_cast<const int8_t*>(code + sizeof(float));
  const bool l2 = form == Metric::kL2;
  const float with_offset = l2 ? 0.0f : 1.0f;
  q->scratch.resize(dim_);
  float* u = q->scratch.data();
  // Eight partial accumulators: -O3 vectorizes the reductions without -ffast-math.
  constexpr size_t kLanes = 8;
  float max_lane[kLanes] = {}, dot_lane[kLanes] = {};
  const float* ssq = scale_sq_.data();
  const float* os = offset_scale_.data();
  size_t i = 0;
  for (; i + kLanes <= dim_; i += kLanes) {
    for (size_t k = 0; k < kLanes; ++k) {
      const float ci = static_cast<float>(c[i + k]);
      const float v = ssq[i + k] * ci + with_offset * os[i + k];
      u[i + k] = v;
      max_lane[k] = std::max(max_lane[k], std::fabs(v));
      dot_lane[k] += os[i + k] * ci;
    }
  }
  for (; i < dim_; ++i) {
    const float ci = static_cast<float>(c[i]);
    u[i] = ssq[i] * ci + with_offset * os[i];
    max_lane[0] = std::max(max_lane[0], std::fabs(u[i]));
    dot_lane[0] += os[i] * ci;
  }
  float max_abs = 0.0f, x_dot_o = offset_sq_sum_;
  for (size_t k = 0; k < kLanes; ++k) {
    max_abs = std::max(max_abs, max_lane[k]);
    x_dot_o += dot_lane[k];
  }
  const float t = QuantizeScaled(q, max_abs);
  float term;
  std::memcpy(&term, code, sizeof(term));
  q->bias = l2 ? term : (form == Metric::kCosine ? 1.0f : 0.0f) - x_dot_o;
  q->scale = (l2 ? -2.0f : -1.0f) * t;
  q->term_weight = l2 ? 1.0f : 0.0f;
}

}  // namespace vecdex::hnsw
