// Every kernel of every ISA this machine supports, against a double-precision reference:
// all lengths 1..300 plus 768 and 1536, unaligned pointers whose data ends exactly at the end of
// the allocation (so ASan catches any read past the end), zero vectors, d == 0, and batch forms
// against the pair kernels for odd row counts and strides.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "simd/cpu_features.h"
#include "simd/kernel_tables.h"
#include "simd/kernels.h"
#include "simd/quantize.h"

namespace vecdex::simd {
namespace {

// `n` elements starting one element past a 64-byte boundary; the allocation ends right after
// the last element.
template <class T>
class UnalignedArray {
 public:
  explicit UnalignedArray(size_t n)
      : base_(static_cast<T*>(::operator new((n + 1) * sizeof(T), std::align_val_t{64}))), n_(n) {
    for (size_t i = 0; i <= n; ++i) base_[i] = T{};
  }
  ~UnalignedArray() { ::operator delete(base_, std::align_val_t{64}); }
  UnalignedArray(const UnalignedArray&) = delete;
  UnalignedArray& operator=(const UnalignedArray&) = delete;

  T* data() { return base_ + 1; }
  T& operator[](size_t i) { return base_[1 + i]; }
  size_t size() const { return n_; }

 private:
  T* base_;
  size_t n_;
};

enum class Op { kL2, kDot, kCosine };
constexpr Op kOps[] = {Op::kL2, Op::kDot, Op::kCosine};

const char* OpName(Op op) { return op == Op::kL2 ? "l2" : op == Op::kDot ? "dot" : "cosine"; }

// The exact value and the scale its float rounding error is measured against.
struct Reference {
  double value = 0;
  double magnitude = 0;  // sum of |terms| (cosine: relative to the norms)
};

template <class A, class B>
Reference ComputeReference(Op op, const A* a, const B* b, size_t d) {
  double dot = 0, abs_dot = 0, na = 0, nb = 0, l2 = 0;
  for (size_t i = 0; i < d; ++i) {
    const double x = a[i], y = b[i];
    dot += x * y;
    abs_dot += std::fabs(x * y);
    na += x * x;
    nb += y * y;
    l2 += (x - y) * (x - y);
  }
  switch (op) {
    case Op::kL2: return {l2, l2};
    case Op::kDot: return {dot, abs_dot};
    case Op::kCosine:
      if (na == 0 || nb == 0) return {1.0, 0.0};
      return {1.0 - dot / std::sqrt(na * nb), abs_dot / std::sqrt(na * nb)};
  }
  return {};
}

double Tolerance(const Reference& ref) { return 1e-5 * ref.magnitude + 1e-6; }

F32Pair PairF32(const KernelTable& t, Op op) {
  return op == Op::kL2 ? t.l2_f32 : op == Op::kDot ? t.dot_f32 : t.cosine_f32;
}
F16Pair PairF16(const KernelTable& t, Op op) {
  return op == Op::kL2 ? t.l2_f16 : op == Op::kDot ? t.dot_f16 : t.cosine_f16;
}
I8Pair PairI8(const KernelTable& t, Op op) {
  return op == Op::kL2 ? t.l2_i8 : op == Op::kDot ? t.dot_i8 : t.cosine_i8;
}
F32Batch BatchF32(const KernelTable& t, Op op) {
  return op == Op::kL2 ? t.l2_f32_batch : op == Op::kDot ? t.dot_f32_batch : t.cosine_f32_batch;
}
F16Batch BatchF16(const KernelTable& t, Op op) {
  return op == Op::kL2 ? t.l2_f16_batch : op == Op::kDot ? t.dot_f16_batch : t.cosine_f16_batch;
}
I8Batch BatchI8(const KernelTable& t, Op op) {
  return op == Op::kL2 ? t.l2_i8_batch : op == Op::kDot ? t.dot_i8_batch : t.cosine_i8_batch;
}

// 1..300, 768, 1536.
std::vector<size_t> PairLengths() {
  std::vector<size_t> out;
  for (size_t d = 1; d <= 300; ++d) out.push_back(d);
  out.push_back(768);
  out.push_back(1536);
  return out;
}

// Lengths around every vector width and unroll boundary, for the (costlier) batch sweep.
const std::vector<size_t> kBatchLengths = {1,  2,  3,  7,  8,  9,  15, 16, 17,  31,  32,  33,  47,
                                           63, 64, 65, 95, 96, 97, 127, 128, 129, 255, 300, 768};

void FillNormal(float* x, size_t n, std::mt19937_64& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (size_t i = 0; i < n; ++i) x[i] = normal(rng);
}
void FillHalf(Half* x, size_t n, std::mt19937_64& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (size_t i = 0; i < n; ++i) x[i] = FloatToHalf(normal(rng));
}
void FillInt8(int8_t* x, size_t n, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> uniform(-128, 127);
  for (size_t i = 0; i < n; ++i) x[i] = static_cast<int8_t>(uniform(rng));
}

std::vector<float> ToFloats(const Half* x, size_t n) {
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = HalfToFloat(x[i]);
  return out;
}

// Exact int8 results: l2 and dot are integers (rounded once to float); cosine is computed from
// exact integer sums.
float ExactInt8(Op op, const int8_t* a, const int8_t* b, size_t d) {
  int64_t dot = 0, na = 0, nb = 0, l2 = 0;
  for (size_t i = 0; i < d; ++i) {
    const int64_t x = a[i], y = b[i];
    dot += x * y;
    na += x * x;
    nb += y * y;
    l2 += (x - y) * (x - y);
  }
  if (op == Op::kL2) return static_cast<float>(l2);
  if (op == Op::kDot) return static_cast<float>(dot);
  if (na == 0 || nb == 0) return 1.0f;
  return static_cast<float>(1.0 - static_cast<double>(dot) /
                                      std::sqrt(static_cast<double>(na) * static_cast<double>(nb)));
}

class KernelsTest : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    table_ = KernelsFor(GetParam());
    if (table_ == nullptr) GTEST_SKIP() << IsaName(GetParam()) << " not supported on this machine";
    ASSERT_EQ(table_->isa, GetParam());
  }
  const KernelTable& table() const { return *table_; }

 private:
  const KernelTable* table_ = nullptr;
};

TEST_P(KernelsTest, F32PairMatchesReference) {
  std::mt19937_64 rng(1);
  for (size_t d : PairLengths()) {
    UnalignedArray<float> a(d), b(d);
    FillNormal(a.data(), d, rng);
    FillNormal(b.data(), d, rng);
    for (Op op : kOps) {
      const Reference ref = ComputeReference(op, a.data(), b.data(), d);
      const float got = PairF32(table(), op)(a.data(), b.data(), d);
      ASSERT_NEAR(got, ref.value, Tolerance(ref)) << OpName(op) << " d=" << d;
    }
  }
}

TEST_P(KernelsTest, F16PairMatchesReference) {
  std::mt19937_64 rng(2);
  for (size_t d : PairLengths()) {
    UnalignedArray<float> q(d);
    UnalignedArray<Half> x(d);
    FillNormal(q.data(), d, rng);
    FillHalf(x.data(), d, rng);
    const std::vector<float> xf = ToFloats(x.data(), d);
    for (Op op : kOps) {
      const Reference ref = ComputeReference(op, q.data(), xf.data(), d);
      const float got = PairF16(table(), op)(q.data(), x.data(), d);
      ASSERT_NEAR(got, ref.value, Tolerance(ref)) << OpName(op) << " d=" << d;
    }
  }
}

TEST_P(KernelsTest, Int8PairIsExact) {
  std::mt19937_64 rng(3);
  for (size_t d : PairLengths()) {
    UnalignedArray<int8_t> a(d), b(d);
    FillInt8(a.data(), d, rng);
    FillInt8(b.data(), d, rng);
    for (Op op : kOps) {
      const float expected = ExactInt8(op, a.data(), b.data(), d);
      const float got = PairI8(table(), op)(a.data(), b.data(), d);
      if (op == Op::kCosine) {
        ASSERT_NEAR(got, expected, 1e-6) << "cosine d=" << d;
      } else {
        ASSERT_EQ(got, expected) << OpName(op) << " d=" << d;
      }
    }
  }
}

// The extreme codes at the documented length bound: l2 = 255^2 * 65536 exceeds int32, so this
// fails if any lane or the final sum overflows.
TEST_P(KernelsTest, Int8ExactAtLengthBound) {
  constexpr size_t d = 65536;
  constexpr int64_t kD = static_cast<int64_t>(d);
  std::vector<int8_t> a(d, 127), b(d, -128), rows(2 * d);
  std::copy(b.begin(), b.end(), rows.begin());
  std::copy(a.begin(), a.end(), rows.begin() + d);
  EXPECT_EQ(table().l2_i8(a.data(), b.data(), d), static_cast<float>(int64_t{255 * 255} * kD));
  EXPECT_EQ(table().dot_i8(a.data(), b.data(), d), static_cast<float>(int64_t{-127 * 128} * kD));
  EXPECT_EQ(table().dot_i8(b.data(), b.data(), d), static_cast<float>(int64_t{128 * 128} * kD));
  EXPECT_NEAR(table().cosine_i8(a.data(), b.data(), d), 2.0, 1e-6);
  float out[2];
  table().l2_i8_batch(a.data(), rows.data(), d, 2, d, out);
  EXPECT_EQ(out[0], static_cast<float>(int64_t{255 * 255} * kD));
  EXPECT_EQ(out[1], 0.0f);
  table().dot_i8_batch(a.data(), rows.data(), d, 2, d, out);
  EXPECT_EQ(out[0], static_cast<float>(int64_t{-127 * 128} * kD));
  EXPECT_EQ(out[1], static_cast<float>(int64_t{127 * 127} * kD));
}

// On a CPU with AVX512-VNNI the AVX-512 table scores int8 dot products with vpdpbusd; the
// widening kernels it replaces must stay exact too (they run on AVX-512 CPUs without VNNI).
TEST(KernelsAvx512Test, Int8DotWithAndWithoutVnniIsExact) {
  if (!CpuFeatures().avx512) GTEST_SKIP() << "no AVX-512";
  std::mt19937_64 rng(11);
  for (const KernelTable* t : {Avx512Kernels(), Avx512KernelsWithoutVnni()}) {
    for (size_t d : PairLengths()) {
      UnalignedArray<int8_t> a(d), b(d);
      FillInt8(a.data(), d, rng);
      FillInt8(b.data(), d, rng);
      ASSERT_EQ(t->dot_i8(a.data(), b.data(), d), ExactInt8(Op::kDot, a.data(), b.data(), d)) << "d=" << d;
    }
    for (size_t d : {size_t{1}, size_t{63}, size_t{64}, size_t{100}, size_t{129}}) {
      const size_t n = 7, stride = d + 5;
      UnalignedArray<int8_t> q(d), rows(n * stride);
      FillInt8(q.data(), d, rng);
      FillInt8(rows.data(), n * stride, rng);
      float out[n];
      t->dot_i8_batch(q.data(), rows.data(), stride, n, d, out);
      for (size_t i = 0; i < n; ++i) {
        ASSERT_EQ(out[i], ExactInt8(Op::kDot, q.data(), rows.data() + i * stride, d)) << "d=" << d << " row " << i;
      }
    }
  }
}

TEST_P(KernelsTest, ZeroVectorsAndEmptyLength) {
  for (size_t d : {size_t{1}, size_t{7}, size_t{33}, size_t{768}}) {
    UnalignedArray<float> zero(d), x(d);
    UnalignedArray<Half> zero_h(d), x_h(d);
    UnalignedArray<int8_t> zero_i(d), x_i(d);
    for (size_t i = 0; i < d; ++i) {
      x[i] = 0.5f + static_cast<float>(i % 5);
      x_h[i] = FloatToHalf(x[i]);
      x_i[i] = static_cast<int8_t>(1 + i % 100);
    }
    SCOPED_TRACE("d=" + std::to_string(d));
    EXPECT_EQ(table().cosine_f32(zero.data(), x.data(), d), 1.0f);
    EXPECT_EQ(table().cosine_f32(x.data(), zero.data(), d), 1.0f);
    EXPECT_EQ(table().cosine_f32(zero.data(), zero.data(), d), 1.0f);
    EXPECT_EQ(table().cosine_f16(zero.data(), x_h.data(), d), 1.0f);
    EXPECT_EQ(table().cosine_f16(x.data(), zero_h.data(), d), 1.0f);
    EXPECT_EQ(table().cosine_i8(zero_i.data(), x_i.data(), d), 1.0f);
    EXPECT_EQ(table().cosine_i8(x_i.data(), zero_i.data(), d), 1.0f);
    EXPECT_EQ(table().l2_f32(zero.data(), zero.data(), d), 0.0f);
    EXPECT_EQ(table().dot_f32(zero.data(), x.data(), d), 0.0f);
    EXPECT_EQ(table().l2_i8(zero_i.data(), zero_i.data(), d), 0.0f);
    float out[3] = {-1, -1, -1};
    table().cosine_f32_batch(zero.data(), x.data(), 0, 3, d, out);  // stride 0: the same row
    for (float v : out) EXPECT_EQ(v, 1.0f);
    table().cosine_i8_batch(x_i.data(), zero_i.data(), 0, 3, d, out);
    for (float v : out) EXPECT_EQ(v, 1.0f);
    // A vector against itself: cosine distance 0 (within rounding), l2 exactly 0.
    EXPECT_NEAR(table().cosine_f32(x.data(), x.data(), d), 0.0, 1e-6);
    EXPECT_EQ(table().l2_f32(x.data(), x.data(), d), 0.0f);
    EXPECT_NEAR(table().cosine_i8(x_i.data(), x_i.data(), d), 0.0, 1e-6);
  }

  // d == 0: l2 and dot are 0, cosine 1; the pointers must not be dereferenced.
  float f[1] = {1};
  Half h[1] = {0x3c00};
  int8_t c[1] = {1};
  for (Op op : kOps) {
    const float expected = op == Op::kCosine ? 1.0f : 0.0f;
    EXPECT_EQ(PairF32(table(), op)(f, f, 0), expected) << OpName(op);
    EXPECT_EQ(PairF16(table(), op)(f, h, 0), expected) << OpName(op);
    EXPECT_EQ(PairI8(table(), op)(c, c, 0), expected) << OpName(op);
    float out[5] = {-1, -1, -1, -1, -1};
    BatchF32(table(), op)(f, f, 0, 5, 0, out);
    for (float v : out) EXPECT_EQ(v, expected) << OpName(op);
    BatchF16(table(), op)(f, h, 0, 5, 0, out);
    for (float v : out) EXPECT_EQ(v, expected) << OpName(op);
    BatchI8(table(), op)(c, c, 0, 5, 0, out);
    for (float v : out) EXPECT_EQ(v, expected) << OpName(op);
    BatchF32(table(), op)(f, f, 1, 0, 1, out);  // n == 0 writes nothing
  }
}

// Runs `check(n, stride, d)` over 1..9 rows, strides d, d + 1 and d + 13, and kBatchLengths.
template <class Check>
void ForEachBatchShape(Check check) {
  for (size_t d : kBatchLengths) {
    for (size_t extra : {size_t{0}, size_t{1}, size_t{13}}) {
      for (size_t n = 1; n <= 9; ++n) check(n, d + extra, d);
    }
  }
}

// Rows live in one unaligned buffer that ends right after the last row's d-th element.
size_t RowsSize(size_t n, size_t stride, size_t d) { return (n - 1) * stride + d; }

TEST_P(KernelsTest, F32BatchMatchesPair) {
  std::mt19937_64 rng(4);
  ForEachBatchShape([&](size_t n, size_t stride, size_t d) {
    UnalignedArray<float> q(d), rows(RowsSize(n, stride, d));
    FillNormal(q.data(), d, rng);
    FillNormal(rows.data(), rows.size(), rng);
    std::vector<float> out(n);
    for (Op op : kOps) {
      BatchF32(table(), op)(q.data(), rows.data(), stride, n, d, out.data());
      for (size_t i = 0; i < n; ++i) {
        const float* row = rows.data() + i * stride;
        const Reference ref = ComputeReference(op, q.data(), row, d);
        const float pair = PairF32(table(), op)(q.data(), row, d);
        ASSERT_NEAR(out[i], pair, 2 * Tolerance(ref))
            << OpName(op) << " n=" << n << " stride=" << stride << " d=" << d << " row " << i;
        ASSERT_NEAR(out[i], ref.value, Tolerance(ref)) << OpName(op) << " d=" << d << " row " << i;
      }
    }
  });
}

TEST_P(KernelsTest, F16BatchMatchesPair) {
  std::mt19937_64 rng(5);
  ForEachBatchShape([&](size_t n, size_t stride, size_t d) {
    UnalignedArray<float> q(d);
    UnalignedArray<Half> rows(RowsSize(n, stride, d));
    FillNormal(q.data(), d, rng);
    FillHalf(rows.data(), rows.size(), rng);
    std::vector<float> out(n);
    for (Op op : kOps) {
      BatchF16(table(), op)(q.data(), rows.data(), stride, n, d, out.data());
      for (size_t i = 0; i < n; ++i) {
        const Half* row = rows.data() + i * stride;
        const std::vector<float> row_f = ToFloats(row, d);
        const Reference ref = ComputeReference(op, q.data(), row_f.data(), d);
        const float pair = PairF16(table(), op)(q.data(), row, d);
        ASSERT_NEAR(out[i], pair, 2 * Tolerance(ref))
            << OpName(op) << " n=" << n << " stride=" << stride << " d=" << d << " row " << i;
        ASSERT_NEAR(out[i], ref.value, Tolerance(ref)) << OpName(op) << " d=" << d << " row " << i;
      }
    }
  });
}

TEST_P(KernelsTest, Int8BatchIsExact) {
  std::mt19937_64 rng(6);
  ForEachBatchShape([&](size_t n, size_t stride, size_t d) {
    UnalignedArray<int8_t> q(d), rows(RowsSize(n, stride, d));
    FillInt8(q.data(), d, rng);
    FillInt8(rows.data(), rows.size(), rng);
    std::vector<float> out(n);
    for (Op op : kOps) {
      BatchI8(table(), op)(q.data(), rows.data(), stride, n, d, out.data());
      for (size_t i = 0; i < n; ++i) {
        const int8_t* row = rows.data() + i * stride;
        const float expected = ExactInt8(op, q.data(), row, d);
        if (op == Op::kCosine) {
          ASSERT_NEAR(out[i], expected, 1e-6) << "n=" << n << " stride=" << stride << " d=" << d;
        } else {
          ASSERT_EQ(out[i], expected) << OpName(op) << " n=" << n << " stride=" << stride
                                      << " d=" << d << " row " << i;
        }
      }
    }
  });
}

// Each row of a batch must depend on its own data only: a distinct spike per row catches a
// kernel that mixes up rows or lanes.
TEST_P(KernelsTest, BatchRowsAreIndependent) {
  constexpr size_t d = 37, n = 7;
  UnalignedArray<float> q(d), rows(n * d);
  for (size_t k = 0; k < d; ++k) q[k] = 1.0f;
  for (size_t i = 0; i < n; ++i) rows[i * d + (i * 5) % d] = static_cast<float>(i + 1);
  float out[n];
  table().dot_f32_batch(q.data(), rows.data(), d, n, d, out);
  for (size_t i = 0; i < n; ++i) EXPECT_EQ(out[i], static_cast<float>(i + 1)) << "row " << i;
}

INSTANTIATE_TEST_SUITE_P(AllIsas, KernelsTest,
                         ::testing::Values(Isa::kScalar, Isa::kAvx2, Isa::kAvx512),
                         [](const ::testing::TestParamInfo<Isa>& info) {
                           return std::string(IsaName(info.param));
                         });

}  // namespace
}  // namespace vecdex::simd
