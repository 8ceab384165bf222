// How the HNSW graph stores vectors and scores a query against a stored code.
//
// One graph serves three storages through a codec chosen per index: F32Codec (the vector as is),
// F16Codec (IEEE binary16) and Int8Codec (scalar quantization, ranges per dimension). The hot
// loop is a template over the codec, so a distance is one kernel call through a function pointer
// copied from simd::Kernels() at construction: no virtual call and no metric switch per distance.
//
// Every codec scores in the same affine form, prepared once per query:
//   distance = bias + scale * kernel(query, code) + term_weight * term(code)
// which folds the metric convention of types.h into two constants:
//   L2      kernel = squared L2                      bias 0, scale 1
//   IP      kernel = dot                             bias 0, scale -1      (distance = -dot)
//   cosine  kernel = dot (both sides normalized)     bias 1, scale -1      (distance = 1 - cos)
//
// Int8 (the choice, and why). Component i is stored as code c_i with x_i ~ o_i + s_i * c_i
// (simd::TrainInt8Ranges: o, s per dimension). Instead of quantizing the query with the data's
// ranges (queries outside the trained range saturate, and per-dimension scales make code-space
// L2 distort the real one), the query is folded with the scales and quantized with its own
// symmetric scale t:  u_i = (q_i - o_i) * s_i  (L2)  or  q_i * s_i  (IP/cosine),  u ~ t * cu.
// Then sum_i u_i * c_i ~ t * dot_i8(cu, c): one exact integer kernel, per-dimension ranges kept.
//   L2:  |q - x|^2 = |q - o|^2 - 2 (q - o).(x - o) + |x - o|^2, where |x - o|^2 is stored per node
//        (the 4-byte "term" in front of the codes), so bias = |q - o|^2, scale = -2t, weight 1;
//   IP:  q.x = q.o + q.(x - o): bias = -q.o, scale = -t;   cosine: bias = 1 - q.o, scale = -t.
// The query error is one rounding of a vector that spans all 255 levels; the data error is the
// per-dimension grid. Final candidates can be re-scored exactly from float32 kept beside.
//
// Thread safety: codecs are immutable after construction; Prepare writes only to its QueryCode.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "simd/kernels.h"
#include "simd/quantize.h"
#include "vecdex/types.h"

namespace vecdex::hnsw {

// A query prepared for one codec; buffers are reused across queries (owned by search scratch).
struct QueryCode {
  const float* f32 = nullptr;  // f32/f16 codecs: the (normalized) query; may point into `buffer`
  const int8_t* i8 = nullptr;  // int8 codec: the query codes (point into `codes`)
  simd::F32Pair f32_kernel = nullptr;
  simd::F16Pair f16_kernel = nullptr;
  float bias = 0.0f;
  float scale = 1.0f;
  float term_weight = 0.0f;
  float aux = 0.0f;  // inner-product build distances (AugmentedCodec)
  std::vector<float> buffer;
  std::vector<float> scratch;  // int8: the scaled query before rounding
  std::vector<int8_t> codes;
};

// Chooses the kernel and the affine constants of the comment above for a float kernel.
struct FloatMetricForm {
  bool use_l2;
  float bias;
  float scale;
  static FloatMetricForm Of(Metric metric) {
    switch (metric) {
      case Metric::kL2:
        return {true, 0.0f, 1.0f};
      case Metric::kInnerProduct:
        return {false, 0.0f, -1.0f};
      case Metric::kCosine:
        return {false, 1.0f, -1.0f};
    }
    return {true, 0.0f, 1.0f};
  }
};

class F32Codec {
 public:
  static constexpr Scalar kScalar = Scalar::kF32;
  F32Codec() = default;
  F32Codec(size_t dim, Metric metric, const simd::KernelTable& kernels)
      : dim_(dim), metric_(metric), l2_(kernels.l2_f32), dot_(kernels.dot_f32) {}

  size_t dim() const { return dim_; }
  size_t code_bytes() const { return dim_ * sizeof(float); }
  // `x` is already normalized for cosine.
  void Encode(const float* x, uint8_t* code) const { std::memcpy(code, x, code_bytes()); }
  void Decode(const uint8_t* code, float* out) const { std::memcpy(out, code, code_bytes()); }
  // `x` must outlive the prepared query (no copy: the f32 query is the caller's vector).
  // PrepareAs scores under `form` instead of the index metric (the build of an IP index).
  void PrepareAs(const float* x, Metric form, QueryCode* q) const {
    const FloatMetricForm f = FloatMetricForm::Of(form);
    q->f32 = x;
    q->f32_kernel = f.use_l2 ? l2_ : dot_;
    q->bias = f.bias;
    q->scale = f.scale;
    q->term_weight = 0.0f;
  }
  void Prepare(const float* x, QueryCode* q) const { PrepareAs(x, metric_, q); }
  // Prepares a stored code as a query (for node-to-node distances).
  void PrepareCodeAs(const uint8_t* code, Metric form, QueryCode* q) const {
    PrepareAs(reinterpret_cast<const float*>(code), form, q);
  }
  void PrepareCode(const uint8_t* code, QueryCode* q) const { PrepareCodeAs(code, metric_, q); }
  float Distance(const QueryCode& q, const uint8_t* code) const { return Bind(q)(code); }
  // The prepared query copied into a value the hot loop keeps in registers (a reference to
  // QueryCode would be reloaded after every opaque kernel call).
  struct Bound {
    simd::F32Pair kernel;
    const float* query;
    float bias, scale;
    size_t dim;
    float operator()(const uint8_t* code) const {
      return bias + scale * kernel(query, reinterpret_cast<const float*>(code), dim);
    }
  };
  Bound Bind(const QueryCode& q) const { return {q.f32_kernel, q.f32, q.bias, q.scale, dim_}; }

 private:
  size_t dim_ = 0;
  Metric metric_ = Metric::kL2;
  simd::F32Pair l2_ = nullptr;
  simd::F32Pair dot_ = nullptr;
};

class F16Codec {
 public:
  static constexpr Scalar kScalar = Scalar::kF16;
  F16Codec() = default;
  F16Codec(size_t dim, Metric metric, const simd::KernelTable& kernels)
      : dim_(dim),
        metric_(metric),
        l2_(kernels.l2_f16),
        dot_(kernels.dot_f16),
        to_half_(kernels.f32_to_f16),
        to_float_(kernels.f16_to_f32) {}

  size_t dim() const { return dim_; }
  size_t code_bytes() const { return dim_ * sizeof(simd::Half); }
  void Encode(const float* x, uint8_t* code) const { to_half_(x, dim_, reinterpret_cast<simd::Half*>(code)); }
  void Decode(const uint8_t* code, float* out) const {
    to_float_(reinterpret_cast<const simd::Half*>(code), dim_, out);
  }
  void PrepareAs(const float* x, Metric form, QueryCode* q) const {
    const FloatMetricForm f = FloatMetricForm::Of(form);
    q->f32 = x;
    q->f16_kernel = f.use_l2 ? l2_ : dot_;
    q->bias = f.bias;
    q->scale = f.scale;
    q->term_weight = 0.0f;
  }
  void Prepare(const float* x, QueryCode* q) const { PrepareAs(x, metric_, q); }
  void PrepareCodeAs(const uint8_t* code, Metric form, QueryCode* q) const {
    q->buffer.resize(dim_);
    Decode(code, q->buffer.data());
    PrepareAs(q->buffer.data(), form, q);
  }
  void PrepareCode(const uint8_t* code, QueryCode* q) const { PrepareCodeAs(code, metric_, q); }
  float Distance(const QueryCode& q, const uint8_t* code) const { return Bind(q)(code); }
  struct Bound {
    simd::F16Pair kernel;
    const float* query;
    float bias, scale;
    size_t dim;
    float operator()(const uint8_t* code) const {
      return bias + scale * kernel(query, reinterpret_cast<const simd::Half*>(code), dim);
    }
  };
  Bound Bind(const QueryCode& q) const { return {q.f16_kernel, q.f32, q.bias, q.scale, dim_}; }

 private:
  size_t dim_ = 0;
  Metric metric_ = Metric::kL2;
  simd::F16Pair l2_ = nullptr;
  simd::F16Pair dot_ = nullptr;
  void (*to_half_)(const float*, size_t, simd::Half*) = nullptr;
  void (*to_float_)(const simd::Half*, size_t, float*) = nullptr;
};

// Code layout: [float term = |x_decoded - o|^2][int8 c_0 .. c_{d-1}].
class Int8Codec {
 public:
  static constexpr Scalar kScalar = Scalar::kInt8;
  Int8Codec() = default;
  Int8Codec(size_t dim, Metric metric, const simd::KernelTable& kernels, simd::Int8Ranges ranges);

  size_t dim() const { return dim_; }
  size_t code_bytes() const { return sizeof(float) + dim_; }
  const simd::Int8Ranges& ranges() const { return ranges_; }
  void Encode(const float* x, uint8_t* code) const;
  void Decode(const uint8_t* code, float* out) const;
  void PrepareAs(const float* x, Metric form, QueryCode* q) const;
  void Prepare(const float* x, QueryCode* q) const { PrepareAs(x, metric_, q); }
  void PrepareCodeAs(const uint8_t* code, Metric form, QueryCode* q) const;
  void PrepareCode(const uint8_t* code, QueryCode* q) const { PrepareCodeAs(code, metric_, q); }
  float Distance(const QueryCode& q, const uint8_t* code) const { return Bind(q)(code); }
  struct Bound {
    simd::I8Pair kernel;
    const int8_t* query;
    float bias, scale, term_weight;
    size_t dim;
    float operator()(const uint8_t* code) const {
      float term;
      std::memcpy(&term, code, sizeof(term));
      return bias + scale * kernel(query, reinterpret_cast<const int8_t*>(code + sizeof(float)), dim) +
             term_weight * term;
    }
  };
  Bound Bind(const QueryCode& q) const { return {kernel_, q.i8, q.bias, q.scale, q.term_weight, dim_}; }

 private:
  // Quantizes the scaled query u (dim_ values in q->scratch) with its own symmetric scale t into
  // q->codes; returns t.
  float QuantizeScaled(QueryCode* q, float max_abs) const;

  size_t dim_ = 0;
  Metric metric_ = Metric::kL2;
  simd::I8Pair kernel_ = nullptr;
  simd::Int8Ranges ranges_;
  // Derived from ranges_ so that a stored code is prepared as a query without decoding it.
  std::vector<float> scale_sq_;      // s_i^2
  std::vector<float> offset_scale_;  // o_i * s_i
  float offset_sq_sum_ = 0.0f;       // sum o_i^2
};

// Scales `x` (d components) to unit length in place; a zero vector stays zero.
void NormalizeInPlace(float* x, size_t d);

}  // namespace vecdex::hnsw
