// Portable reference kernels: the fallback on any CPU and the baseline every SIMD path is
// tested against.
//
// Each float loop keeps kLanes independent partial sums, updated lane by lane. The compiler may
// not reorder a single float sum (that would change the result), but these lanes are
// independent, so -O3 turns them into packed SSE2 operations without -ffast-math.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "simd/kernel_tables.h"
#include "simd/kernels.h"
#include "simd/quantize.h"

namespace vecdex::simd {
namespace {

constexpr size_t kLanes = 16;

// Int8 sums run in int32 lanes that are flushed to int64 every kInt8Block elements: each lane
// then holds at most kInt8Block / kLanes terms of at most 255^2, far from overflow, so the
// scalar kernels are exact (and free of signed overflow) for any d.
constexpr size_t kInt8Block = 4096;

float SumLanes(const float (&lanes)[kLanes]) {
  float total = 0.0f;
  for (float v : lanes) total += v;
  return total;
}

// binary16 -> float32 without branches, so the conversion loop vectorizes (the reference
// HalfToFloat in quantize.cc is an out-of-line call with branches, ~2 ns per value). Subnormal
// halves go through an exact int -> float conversion instead of float denormals, so the result
// does not depend on FTZ/DAZ. The tests check it against HalfToFloat on all 65536 halves.
inline float HalfBitsToFloat(Half h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t magnitude = h & 0x7fffu;
  const uint32_t mantissa = h & 0x3ffu;
  const uint32_t normal = (magnitude << 13) + 0x38000000u;  // exponent rebias: +(127 - 15) << 23
  const float subnormal_value = static_cast<float>(static_cast<int32_t>(mantissa)) * 0x1p-24f;
  uint32_t subnormal;
  std::memcpy(&subnormal, &subnormal_value, sizeof subnormal);
  // Inf keeps a zero mantissa; a NaN is quieted (bit 22), as vcvtph2ps does. Selection by
  // all-ones/zero masks rather than ?: so that GCC if-converts and vectorizes the loop.
  const uint32_t is_nan = 0u - static_cast<uint32_t>(mantissa != 0);
  const uint32_t special = 0x7f800000u | (mantissa << 13) | (is_nan & 0x400000u);
  const uint32_t is_special = 0u - static_cast<uint32_t>(magnitude >= 0x7c00u);
  const uint32_t is_normal = 0u - static_cast<uint32_t>(magnitude >= 0x400u);
  const uint32_t bits = sign | (special & is_special) | (normal & is_normal & ~is_special) |
                        (subnormal & ~is_normal);
  float out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

// The f16 kernels convert a block of halves to floats first, then run the f32 loop on it.
void HalvesToFloats(const Half* in, size_t n, float* out) {
  for (size_t j = 0; j < n; ++j) out[j] = HalfBitsToFloat(in[j]);
}

enum class Op { kL2, kDot, kCosine };

// sum (a_i - b_i)^2 or sum a_i * b_i over kLanes float lanes.
template <Op op>
float SumF32(const float* a, const float* b, size_t d) {
  static_assert(op != Op::kCosine);
  float lanes[kLanes] = {};
  size_t i = 0;
  for (; i + kLanes <= d; i += kLanes) {
    for (size_t j = 0; j < kLanes; ++j) {
      const float x = a[i + j], y = b[i + j];
      lanes[j] += op == Op::kL2 ? (x - y) * (x - y) : x * y;
    }
  }
  for (size_t j = 0; i < d; ++i, ++j) {  // tail: fewer than kLanes elements
    const float x = a[i], y = b[i];
    lanes[j] += op == Op::kL2 ? (x - y) * (x - y) : x * y;
  }
  return SumLanes(lanes);
}

// Adds the sums of a[0..d) and b[0..d) into `sums`: [0] = l2 or dot, [1] = |a|^2 and
// [2] = |b|^2 (cosine only); double across calls (the f16 kernels call once per block).
// Cosine makes three passes on purpose: GCC 12 vectorizes each single-sum loop but turned the
// fused three-sum loop into slow scalar code (3x slower at d = 768); the data is in L1 by the
// second pass anyway.
template <Op op>
void AccumulateF32(const float* a, const float* b, size_t d, double* sums) {
  if constexpr (op == Op::kCosine) {
    sums[0] += SumF32<Op::kDot>(a, b, d);
    sums[1] += SumF32<Op::kDot>(a, a, d);
    sums[2] += SumF32<Op::kDot>(b, b, d);
  } else {
    sums[0] += SumF32<op>(a, b, d);
  }
}

template <Op op>
float Finish(const double* sums) {
  if constexpr (op == Op::kCosine) {
    return CosineDistanceFromSums(sums[0], sums[1], sums[2]);
  } else {
    return static_cast<float>(sums[0]);
  }
}

template <Op op>
float PairF32(const float* a, const float* b, size_t d) {
  double sums[3] = {};
  AccumulateF32<op>(a, b, d, sums);
  return Finish<op>(sums);
}

template <Op op>
float PairF16(const float* q, const Half* x, size_t d) {
  // Converting in blocks keeps the f32 loop vectorizable; partial sums of blocks add in double.
  constexpr size_t kBlock = 256;
  float buffer[kBlock];
  double sums[3] = {};
  for (size_t i = 0; i < d; i += kBlock) {
    const size_t len = d - i < kBlock ? d - i : kBlock;
    HalvesToFloats(x + i, len, buffer);
    AccumulateF32<op>(q + i, buffer, len, sums);
  }
  return Finish<op>(sums);
}

template <Op op>
float PairI8(const int8_t* a, const int8_t* b, size_t d) {
  int64_t total[3] = {};
  for (size_t start = 0; start < d; start += kInt8Block) {
    const size_t end = d - start < kInt8Block ? d : start + kInt8Block;
    int32_t s0[kLanes] = {}, s1[kLanes] = {}, s2[kLanes] = {};
    size_t i = start;
    for (; i + kLanes <= end; i += kLanes) {
      for (size_t j = 0; j < kLanes; ++j) {
        const int32_t x = a[i + j], y = b[i + j];
        s0[j] += op == Op::kL2 ? (x - y) * (x - y) : x * y;
        if constexpr (op == Op::kCosine) {
          s1[j] += x * x;
          s2[j] += y * y;
        }
      }
    }
    for (size_t j = 0; i < end; ++i, ++j) {
      const int32_t x = a[i], y = b[i];
      s0[j] += op == Op::kL2 ? (x - y) * (x - y) : x * y;
      if constexpr (op == Op::kCosine) {
        s1[j] += x * x;
        s2[j] += y * y;
      }
    }
    for (size_t j = 0; j < kLanes; ++j) {
      total[0] += s0[j];
      total[1] += s1[j];
      total[2] += s2[j];
    }
  }
  if constexpr (op == Op::kCosine) {
    return CosineDistanceFromSums(static_cast<double>(total[0]), static_cast<double>(total[1]),
                                  static_cast<double>(total[2]));
  } else {
    return static_cast<float>(total[0]);  // exact integer, rounded once to float
  }
}

// Batch forms: the scalar path has no cross-row reuse worth the code, so it scores row by row.
template <Op op>
void BatchF32(const float* q, const float* rows, size_t stride, size_t n, size_t d, float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = PairF32<op>(q, rows + i * stride, d);
}
template <Op op>
void BatchF16(const float* q, const Half* rows, size_t stride, size_t n, size_t d, float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = PairF16<op>(q, rows + i * stride, d);
}
template <Op op>
void BatchI8(const int8_t* q, const int8_t* rows, size_t stride, size_t n, size_t d, float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = PairI8<op>(q, rows + i * stride, d);
}

void F32ToF16(const float* in, size_t n, Half* out) {
  for (size_t i = 0; i < n; ++i) out[i] = FloatToHalf(in[i]);
}
void F16ToF32(const Half* in, size_t n, float* out) { HalvesToFloats(in, n, out); }

constexpr KernelTable kScalarTable = {
    Isa::kScalar,
    PairF32<Op::kL2>, PairF32<Op::kDot>, PairF32<Op::kCosine>,
    PairF16<Op::kL2>, PairF16<Op::kDot>, PairF16<Op::kCosine>,
    PairI8<Op::kL2>, PairI8<Op::kDot>, PairI8<Op::kCosine>,
    BatchF32<Op::kL2>, BatchF32<Op::kDot>, BatchF32<Op::kCosine>,
    BatchF16<Op::kL2>, BatchF16<Op::kDot>, BatchF16<Op::kCosine>,
    BatchI8<Op::kL2>, BatchI8<Op::kDot>, BatchI8<Op::kCosine>,
    F32ToF16, F16ToF32,
};

}  // namespace

const KernelTable* ScalarKernels() { return &kScalarTable; }

}  // namespace vecdex::simd
