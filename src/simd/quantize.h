// Scalar quantization of float32 vectors to int8 codes, with ranges per dimension.
//
// Component i is encoded as code = clamp(round((x - offset[i]) / scale[i]), -127, 127) and
// decoded as offset[i] + scale[i] * code. Training picks offset/scale per dimension so that
// [min, max] of the training rows maps onto [-127, 127]. A dimension whose training values are
// all equal gets scale 1 (every value then decodes exactly to that constant's neighbourhood).
// Values outside the trained range saturate. Portable code: quantization runs once per insert,
// never in a search loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "simd/kernels.h"

namespace vecdex::simd {

struct Int8Ranges {
  std::vector<float> offset;  // per dimension
  std::vector<float> scale;   // per dimension, > 0
};

// Trains ranges from `rows` row-major vectors of `d` components. rows == 0 gives offset 0,
// scale 1/127 (the range [-1, 1]).
Int8Ranges TrainInt8Ranges(const float* data, size_t rows, size_t d);

void QuantizeInt8(const float* x, size_t d, const Int8Ranges& ranges, int8_t* out);
void DequantizeInt8(const int8_t* codes, size_t d, const Int8Ranges& ranges, float* out);

// Scalar reference conversions between float32 and IEEE binary16 (round to nearest even).
Half FloatToHalf(float value);
float HalfToFloat(Half value);

}  // namespace vecdex::simd
