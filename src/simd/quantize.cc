// Int8 scalar quantization and the reference float32 <-> binary16 conversions.
#include "simd/quantize.h"

#include <cmath>
#include <cstdint>
#include <cstring>

namespace vecdex::simd {
namespace {

constexpr float kMaxCode = 127.0f;

uint32_t FloatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

float BitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

}  // namespace

Int8Ranges TrainInt8Ranges(const float* data, size_t rows, size_t d) {
  Int8Ranges ranges;
  ranges.offset.assign(d, 0.0f);
  ranges.scale.assign(d, 1.0f / kMaxCode);
  if (rows == 0) return ranges;

  std::vector<float> lo(data, data + d), hi(data, data + d);
  for (size_t r = 1; r < rows; ++r) {
    const float* row = data + r * d;
    for (size_t i = 0; i < d; ++i) {
      lo[i] = row[i] < lo[i] ? row[i] : lo[i];
      hi[i] = row[i] > hi[i] ? row[i] : hi[i];
    }
  }
  for (size_t i = 0; i < d; ++i) {
    // Double keeps (hi - lo) finite for any finite floats (it can exceed FLT_MAX).
    const double lo_d = lo[i], hi_d = hi[i];
    const float scale = static_cast<float>((hi_d - lo_d) / (2.0 * kMaxCode));
    ranges.offset[i] = static_cast<float>(0.5 * (lo_d + hi_d));
    // A constant dimension (or a range so small its step underflows) gets scale 1 and offset =
    // the constant, which encodes to code 0 and decodes back exactly.
    ranges.scale[i] = scale > 0.0f ? scale : 1.0f;
    if (!(scale > 0.0f)) ranges.offset[i] = lo[i];
  }
  return ranges;
}

void QuantizeInt8(const float* x, size_t d, const Int8Ranges& ranges, int8_t* out) {
  for (size_t i = 0; i < d; ++i) {
    // Double so that the error stays within scale/2 (float rounding of the division would
    // add up to an ulp on top).
    double t = (static_cast<double>(x[i]) - ranges.offset[i]) / ranges.scale[i];
    // Clamp before converting: out-of-range conversion to an integer is UB. NaN fails both
    // comparisons below, so it is mapped to 0 explicitly.
    if (t != t) t = 0.0;
    if (t > kMaxCode) t = kMaxCode;
    if (t < -kMaxCode) t = -kMaxCode;
    out[i] = static_cast<int8_t>(std::lround(t));
  }
}

void DequantizeInt8(const int8_t* codes, size_t d, const Int8Ranges& ranges, float* out) {
  for (size_t i = 0; i < d; ++i) out[i] = ranges.offset[i] + ranges.scale[i] * codes[i];
}

// Bit-level conversion, matching x86 F16C (vcvtps2ph with round-to-nearest-even) bit for bit:
// NaNs stay NaN (quieted, top payload bits kept), overflow goes to infinity, results below the
// smallest normal half become subnormals with correct rounding.
Half FloatToHalf(float value) {
  const uint32_t bits = FloatBits(value);
  const uint32_t sign = (bits >> 16) & 0x8000u;
  const uint32_t abs = bits & 0x7fffffffu;
  const uint32_t exponent = abs >> 23;  // biased float exponent

  if (exponent == 0xff) {  // inf or NaN
    if (abs == 0x7f800000u) return static_cast<Half>(sign | 0x7c00u);
    return static_cast<Half>(sign | 0x7e00u | ((abs >> 13) & 0x3ffu));
  }
  if (exponent >= 127 + 16) return static_cast<Half>(sign | 0x7c00u);  // >= 2^16: overflow
  if (exponent >= 127 - 14) {
    // Normal half: rebias the exponent, keep 10 mantissa bits, round the 13 dropped ones to
    // nearest even. A carry out of the mantissa correctly bumps the exponent (up to inf).
    uint32_t h = ((exponent - 112) << 10) | ((abs >> 13) & 0x3ffu);
    const uint32_t rest = abs & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
    return static_cast<Half>(sign | h);
  }
  if (exponent < 127 - 25) return static_cast<Half>(sign);  // < 2^-25: rounds to zero
  // Subnormal half: value = m * 2^(exponent - 150) with the implicit bit restored; in units of
  // the smallest subnormal 2^-24 that is m >> (126 - exponent), rounded to nearest even.
  // Rounding up out of 0x3ff gives 0x400, the smallest normal: also correct.
  const uint32_t m = (abs & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126 - exponent;  // 14..24
  uint32_t h = m >> shift;
  const uint32_t rest = m & ((1u << shift) - 1);
  const uint32_t halfway = 1u << (shift - 1);
  if (rest > halfway || (rest == halfway && (h & 1u))) ++h;
  return static_cast<Half>(sign | h);
}

float HalfToFloat(Half value) {
  const uint32_t sign = static_cast<uint32_t>(value & 0x8000u) << 16;
  const uint32_t exponent = (value >> 10) & 0x1fu;
  const uint32_t mantissa = value & 0x3ffu;
  if (exponent == 0x1f) {  // inf, or NaN quieted with its payload kept (as vcvtph2ps does)
    const uint32_t quiet = mantissa != 0 ? 0x400000u : 0u;
    return BitsFloat(sign | 0x7f800000u | quiet | (mantissa << 13));
  }
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24 is exact in float.
    const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
    return sign != 0 ? -magnitude : magnitude;
  }
  return BitsFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

}  // namespace vecdex::simd
