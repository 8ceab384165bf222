// float32 <-> binary16: the scalar reference against IEEE rules, exhaustively over all 65536
// halves, and every ISA's conversion kernels against the scalar reference bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "simd/kernels.h"
#include "simd/quantize.h"

namespace vecdex::simd {
namespace {

uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
float FromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
bool IsNanHalf(Half h) { return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0; }

TEST(HalfReference, KnownValues) {
  EXPECT_EQ(HalfToFloat(0x0000), 0.0f);
  EXPECT_TRUE(std::signbit(HalfToFloat(0x8000)));
  EXPECT_EQ(HalfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(HalfToFloat(0xc000), -2.0f);
  EXPECT_EQ(HalfToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(HalfToFloat(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(HalfToFloat(0x03ff), std::ldexp(1023.0f, -24));  // largest subnormal
  EXPECT_EQ(HalfToFloat(0x0400), std::ldexp(1.0f, -14));  // smallest normal
  EXPECT_EQ(HalfToFloat(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(HalfToFloat(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(HalfToFloat(0x7c01)));
  EXPECT_TRUE(std::isnan(HalfToFloat(0xfe00)));

  EXPECT_EQ(FloatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(FloatToHalf(-0.0f), 0x8000);
  EXPECT_EQ(FloatToHalf(65504.0f), 0x7bff);
  EXPECT_EQ(FloatToHalf(65519.99f), 0x7bff);
  EXPECT_EQ(FloatToHalf(65520.0f), 0x7c00);  // the tie above the largest half goes to inf
  EXPECT_EQ(FloatToHalf(1e10f), 0x7c00);
  EXPECT_EQ(FloatToHalf(-std::numeric_limits<float>::max()), 0xfc00);
  EXPECT_EQ(FloatToHalf(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -25)), 0x0000);  // tie between 0 and 2^-24: even
  EXPECT_EQ(FloatToHalf(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(FloatToHalf(std::ldexp(3.0f, -25)), 0x0002);  // tie between 1 and 2 ulps: even
  EXPECT_EQ(FloatToHalf(-1e-40f), 0x8000);               // float subnormal: signed zero
  EXPECT_TRUE(IsNanHalf(FloatToHalf(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_TRUE(IsNanHalf(FloatToHalf(FromBits(0x7f800001))));  // a NaN whose payload is all low bits
  EXPECT_TRUE(IsNanHalf(FloatToHalf(FromBits(0xff800001))));
}

TEST(HalfReference, RoundTripsEveryHalf) {
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    const Half half = static_cast<Half>(h);
    const float f = HalfToFloat(half);
    if (IsNanHalf(half)) {
      ASSERT_TRUE(std::isnan(f)) << std::hex << h;
      ASSERT_EQ(FloatToHalf(f), half | 0x0200) << std::hex << h;  // quieted, payload kept
    } else {
      ASSERT_EQ(FloatToHalf(f), half) << std::hex << h;
    }
  }
}

// For each pair of adjacent finite halves: the midpoint rounds to the even one, and one float
// ulp either side of it rounds to the nearer one. Covers subnormals, the subnormal/normal seam
// and every exponent.
TEST(HalfReference, RoundsToNearestEven) {
  for (uint32_t h = 0; h < 0x7bff; ++h) {
    for (uint32_t sign : {0u, 0x8000u}) {
      const Half lo = static_cast<Half>(h | sign), hi = static_cast<Half>((h + 1) | sign);
      const float mid = (HalfToFloat(lo) + HalfToFloat(hi)) / 2;  // exact: 11-bit significands
      const Half even = (h & 1) == 0 ? lo : hi;
      ASSERT_EQ(FloatToHalf(mid), even) << std::hex << h;
      ASSERT_EQ(FloatToHalf(std::nextafter(mid, 0.0f)), lo) << std::hex << h;
      ASSERT_EQ(FloatToHalf(std::nextafter(mid, sign ? -1e9f : 1e9f)), hi) << std::hex << h;
    }
  }
}

// Floats that exercise every conversion path: all halves widened, ties, specials, random bits.
std::vector<float> ConversionInputs() {
  std::vector<float> out;
  for (uint32_t h = 0; h <= 0xffff; ++h) out.push_back(HalfToFloat(static_cast<Half>(h)));
  for (uint32_t h = 0; h < 0x7bff; h += 7) {
    const float mid = (HalfToFloat(static_cast<Half>(h)) + HalfToFloat(static_cast<Half>(h + 1))) / 2;
    out.push_back(mid);
    out.push_back(-std::nextafter(mid, 0.0f));
  }
  for (uint32_t bits : {0x7f800001u, 0x7fc00000u, 0x7fffffffu, 0xff802000u, 0x7f801fffu, 0x00000001u,
                        0x807fffffu, 0x7f7fffffu, 0x477ff000u, 0x477fefffu, 0x33000000u, 0x33000001u}) {
    out.push_back(FromBits(bits));
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 4000; ++i) out.push_back(FromBits(static_cast<uint32_t>(rng())));
  // Random values in the half range, where rounding (not overflow) decides the result.
  std::uniform_real_distribution<float> uniform(-70000.0f, 70000.0f);
  for (int i = 0; i < 4000; ++i) out.push_back(uniform(rng) * (i % 2 ? 1.0f : 1e-6f));
  return out;
}

class HalfKernelsTest : public ::testing::TestWithParam<Isa> {};

TEST_P(HalfKernelsTest, MatchesScalarBitForBit) {
  const KernelTable* table = KernelsFor(GetParam());
  if (table == nullptr) GTEST_SKIP() << IsaName(GetParam()) << " not supported on this machine";

  std::vector<Half> halves(0x10000);
  for (uint32_t h = 0; h <= 0xffff; ++h) halves[h] = static_cast<Half>(h);
  std::vector<float> widened(halves.size());
  table->f16_to_f32(halves.data(), halves.size(), widened.data());
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    ASSERT_EQ(Bits(widened[h]), Bits(HalfToFloat(static_cast<Half>(h)))) << std::hex << h;
  }

  const std::vector<float> inputs = ConversionInputs();
  std::vector<Half> narrowed(inputs.size());
  table->f32_to_f16(inputs.data(), inputs.size(), narrowed.data());
  for (size_t i = 0; i < inputs.size(); ++i) {
    ASSERT_EQ(narrowed[i], FloatToHalf(inputs[i])) << std::hex << Bits(inputs[i]);
  }

  // Every tail length, with exact-size heap buffers so ASan sees any overrun.
  for (size_t n = 0; n <= 40; ++n) {
    std::vector<float> in(inputs.begin() + 1000, inputs.begin() + 1000 + n), back(n);
    std::vector<Half> mid(n);
    table->f32_to_f16(in.data(), n, mid.data());
    table->f16_to_f32(mid.data(), n, back.data());
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(mid[i], FloatToHalf(in[i])) << "n=" << n << " i=" << i;
      ASSERT_EQ(Bits(back[i]), Bits(HalfToFloat(mid[i]))) << "n=" << n << " i=" << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, HalfKernelsTest,
                         ::testing::Values(Isa::kScalar, Isa::kAvx2, Isa::kAvx512),
                         [](const ::testing::TestParamInfo<Isa>& info) {
                           return std::string(IsaName(info.param));
                         });

}  // namespace
}  // namespace vecdex::simd
