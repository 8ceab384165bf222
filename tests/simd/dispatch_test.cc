#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "simd/kernel_tables.h"
#include "simd/kernels.h"

namespace vecdex::simd {
namespace {

const std::vector<Isa> kAll = {Isa::kScalar, Isa::kAvx2, Isa::kAvx512};
const std::vector<Isa> kNoAvx512 = {Isa::kScalar, Isa::kAvx2};
const std::vector<Isa> kScalarOnly = {Isa::kScalar};

TEST(Dispatch, SupportedIsasStartWithScalarAndAscend) {
  const std::vector<Isa> isas = SupportedIsas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(isas.front(), Isa::kScalar);
  for (size_t i = 1; i < isas.size(); ++i) EXPECT_LT(isas[i - 1], isas[i]);
  for (Isa isa : kAll) {
    const bool supported = std::find(isas.begin(), isas.end(), isa) != isas.end();
    const KernelTable* table = KernelsFor(isa);
    EXPECT_EQ(table != nullptr, supported) << IsaName(isa);
    if (table != nullptr) {
      EXPECT_EQ(table->isa, isa);
    }
  }
}

TEST(Dispatch, EveryTableIsComplete) {
  for (Isa isa : SupportedIsas()) {
    const KernelTable& t = *KernelsFor(isa);
    const void* pointers[] = {
        reinterpret_cast<const void*>(t.l2_f32), reinterpret_cast<const void*>(t.dot_f32),
        reinterpret_cast<const void*>(t.cosine_f32), reinterpret_cast<const void*>(t.l2_f16),
        reinterpret_cast<const void*>(t.dot_f16), reinterpret_cast<const void*>(t.cosine_f16),
        reinterpret_cast<const void*>(t.l2_i8), reinterpret_cast<const void*>(t.dot_i8),
        reinterpret_cast<const void*>(t.cosine_i8), reinterpret_cast<const void*>(t.l2_f32_batch),
        reinterpret_cast<const void*>(t.dot_f32_batch), reinterpret_cast<const void*>(t.cosine_f32_batch),
        reinterpret_cast<const void*>(t.l2_f16_batch), reinterpret_cast<const void*>(t.dot_f16_batch),
        reinterpret_cast<const void*>(t.cosine_f16_batch), reinterpret_cast<const void*>(t.l2_i8_batch),
        reinterpret_cast<const void*>(t.dot_i8_batch), reinterpret_cast<const void*>(t.cosine_i8_batch),
        reinterpret_cast<const void*>(t.f32_to_f16), reinterpret_cast<const void*>(t.f16_to_f32)};
    for (const void* p : pointers) EXPECT_NE(p, nullptr) << IsaName(isa);
  }
}

TEST(Dispatch, ActiveTableFollowsEnvironment) {
  // Whatever VECDEX_SIMD this process was started with (CI runs the suite under several).
  const char* env = std::getenv("VECDEX_SIMD");
  const Isa expected = ChooseIsa(env, SupportedIsas());
  EXPECT_EQ(Kernels().isa, expected) << "VECDEX_SIMD=" << (env != nullptr ? env : "(unset)");
  EXPECT_EQ(&Kernels(), KernelsFor(expected));
}

TEST(ChooseIsa, UnsetPicksBest) {
  std::string warning = "stale";
  EXPECT_EQ(ChooseIsa(nullptr, kAll, &warning), Isa::kAvx512);
  EXPECT_TRUE(warning.empty());
  EXPECT_EQ(ChooseIsa("", kNoAvx512, &warning), Isa::kAvx2);
  EXPECT_TRUE(warning.empty());
  EXPECT_EQ(ChooseIsa(nullptr, kScalarOnly), Isa::kScalar);
}

TEST(ChooseIsa, SupportedRequestIsHonoured) {
  std::string warning;
  EXPECT_EQ(ChooseIsa("scalar", kAll, &warning), Isa::kScalar);
  EXPECT_TRUE(warning.empty());
  EXPECT_EQ(ChooseIsa("avx2", kAll, &warning), Isa::kAvx2);
  EXPECT_TRUE(warning.empty());
  EXPECT_EQ(ChooseIsa("avx512", kAll, &warning), Isa::kAvx512);
  EXPECT_TRUE(warning.empty());
  EXPECT_EQ(ChooseIsa(" avx2\n", kAll, &warning), Isa::kAvx2);  // stray whitespace is harmless
  EXPECT_TRUE(warning.empty());
}

TEST(ChooseIsa, UnsupportedRequestFallsBackBelowWithWarning) {
  std::string warning;
  EXPECT_EQ(ChooseIsa("avx512", kNoAvx512, &warning), Isa::kAvx2);
  EXPECT_NE(warning.find("avx512"), std::string::npos) << warning;
  EXPECT_NE(warning.find("using avx2"), std::string::npos) << warning;
  EXPECT_EQ(ChooseIsa("avx512", kScalarOnly, &warning), Isa::kScalar);
  EXPECT_FALSE(warning.empty());
  EXPECT_EQ(ChooseIsa("avx2", kScalarOnly, &warning), Isa::kScalar);
  EXPECT_FALSE(warning.empty());
  // A set without avx2 but with avx512 (never produced by SupportedIsas, but well defined).
  EXPECT_EQ(ChooseIsa("avx2", {Isa::kScalar, Isa::kAvx512}, &warning), Isa::kScalar);
}

TEST(ChooseIsa, UnknownNameFallsBackToBestWithWarning) {
  std::string warning;
  EXPECT_EQ(ChooseIsa("neon", kAll, &warning), Isa::kAvx512);
  EXPECT_NE(warning.find("neon"), std::string::npos) << warning;
  EXPECT_EQ(ChooseIsa("AVX2", kNoAvx512, &warning), Isa::kAvx2);  // names are lower case
  EXPECT_FALSE(warning.empty());
}

TEST(IsaName, Names) {
  EXPECT_EQ(IsaName(Isa::kScalar), "scalar");
  EXPECT_EQ(IsaName(Isa::kAvx2), "avx2");
  EXPECT_EQ(IsaName(Isa::kAvx512), "avx512");
}

}  // namespace
}  // namespace vecdex::simd
