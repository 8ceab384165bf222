#include "simd/quantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "testutil/test_util.h"

namespace vecdex::simd {
namespace {

TEST(QuantizeInt8, RoundTripWithinHalfAStep) {
  constexpr size_t rows = 200, d = 37;
  std::vector<float> data = testutil::RandomVectors(rows, d, 11);
  for (size_t r = 0; r < rows; ++r) data[r * d + 3] = data[r * d + 3] * 1000.0f + 50.0f;  // shifted
  const Int8Ranges ranges = TrainInt8Ranges(data.data(), rows, d);
  ASSERT_EQ(ranges.offset.size(), d);
  ASSERT_EQ(ranges.scale.size(), d);

  std::vector<int8_t> codes(d);
  std::vector<float> back(d);
  for (size_t r = 0; r < rows; ++r) {
    const float* x = data.data() + r * d;
    QuantizeInt8(x, d, ranges, codes.data());
    DequantizeInt8(codes.data(), d, ranges, back.data());
    for (size_t i = 0; i < d; ++i) {
      ASSERT_GT(ranges.scale[i], 0.0f);
      ASSERT_GE(codes[i], -127);
      // Half a step, plus float rounding of offset + scale * code.
      const float slack = 1e-6f * (std::fabs(x[i]) + std::fabs(ranges.offset[i]));
      ASSERT_LE(std::fabs(back[i] - x[i]), ranges.scale[i] / 2 + slack) << "row " << r << " dim " << i;
    }
  }
}

TEST(QuantizeInt8, TrainingExtremesMapToFullRangeAndOutsideSaturates) {
  const float data[] = {-2.0f, 10.0f,  //
                        6.0f, 20.0f,   //
                        1.0f, 15.0f};
  const Int8Ranges ranges = TrainInt8Ranges(data, 3, 2);
  int8_t codes[2];
  const float lows[] = {-2.0f, 10.0f}, highs[] = {6.0f, 20.0f};
  QuantizeInt8(lows, 2, ranges, codes);
  EXPECT_EQ(codes[0], -127);
  EXPECT_EQ(codes[1], -127);
  QuantizeInt8(highs, 2, ranges, codes);
  EXPECT_EQ(codes[0], 127);
  EXPECT_EQ(codes[1], 127);
  const float outside[] = {-1e30f, 1e30f};
  QuantizeInt8(outside, 2, ranges, codes);
  EXPECT_EQ(codes[0], -127);
  EXPECT_EQ(codes[1], 127);
  const float infinite[] = {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()};
  QuantizeInt8(infinite, 2, ranges, codes);
  EXPECT_EQ(codes[0], 127);
  EXPECT_EQ(codes[1], -127);
}

TEST(QuantizeInt8, ConstantDimensionDecodesExactly) {
  const float data[] = {3.25f, 1.0f, 3.25f, 2.0f, 3.25f, 5.0f};
  const Int8Ranges ranges = TrainInt8Ranges(data, 3, 2);
  EXPECT_EQ(ranges.scale[0], 1.0f);
  int8_t codes[2];
  float back[2];
  QuantizeInt8(data, 2, ranges, codes);
  DequantizeInt8(codes, 2, ranges, back);
  EXPECT_EQ(codes[0], 0);
  EXPECT_EQ(back[0], 3.25f);
  // Values near the constant land within half a step (scale 1) of it.
  const float near[] = {3.6f, 2.0f};
  QuantizeInt8(near, 2, ranges, codes);
  DequantizeInt8(codes, 2, ranges, back);
  EXPECT_LE(std::fabs(back[0] - 3.6f), 0.5f);
}

TEST(QuantizeInt8, NoRowsGivesUnitRange) {
  const Int8Ranges ranges = TrainInt8Ranges(nullptr, 0, 4);
  ASSERT_EQ(ranges.offset.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(ranges.offset[i], 0.0f);
    EXPECT_FLOAT_EQ(ranges.scale[i], 1.0f / 127);
  }
  const float x[] = {1.0f, -1.0f, 0.5f, 0.0f};
  int8_t codes[4];
  QuantizeInt8(x, 4, ranges, codes);
  EXPECT_EQ(codes[0], 127);
  EXPECT_EQ(codes[1], -127);
  EXPECT_EQ(codes[3], 0);
}

TEST(QuantizeInt8, NanIsNotUndefined) {
  const float data[] = {0.0f, 1.0f};
  const Int8Ranges ranges = TrainInt8Ranges(data, 2, 1);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  int8_t code = 99;
  QuantizeInt8(&nan, 1, ranges, &code);
  EXPECT_EQ(code, 0);
}

TEST(QuantizeInt8, ExtremeFloatRangeStaysFinite) {
  const float data[] = {-std::numeric_limits<float>::max(), std::numeric_limits<float>::max()};
  const Int8Ranges ranges = TrainInt8Ranges(data, 2, 1);
  EXPECT_TRUE(std::isfinite(ranges.scale[0]));
  EXPECT_GT(ranges.scale[0], 0.0f);
  int8_t codes[2];
  QuantizeInt8(data, 1, ranges, &codes[0]);
  QuantizeInt8(data + 1, 1, ranges, &codes[1]);
  EXPECT_EQ(codes[0], -127);
  EXPECT_EQ(codes[1], 127);
}

}  // namespace
}  // namespace vecdex::simd
