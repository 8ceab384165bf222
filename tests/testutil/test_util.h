// Helpers shared by every test: status assertions, seeded random data, exact reference answers.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "vecdex/status.h"
#include "vecdex/types.h"

#define ASSERT_OK(expr)                                        \
  do {                                                         \
    const auto& vecdex_test_st_ = (expr);                      \
    ASSERT_TRUE(vecdex_test_st_.ok()) << vecdex::testutil::StatusText(vecdex_test_st_); \
  } while (0)
#define EXPECT_OK(expr)                                        \
  do {                                                         \
    const auto& vecdex_test_st_ = (expr);                      \
    EXPECT_TRUE(vecdex_test_st_.ok()) << vecdex::testutil::StatusText(vecdex_test_st_); \
  } while (0)
// Asserts that `expr` (a Status or Result) failed with `code`.
#define EXPECT_STATUS(expr, code_value)                                   \
  do {                                                                    \
    const auto& vecdex_test_st_ = (expr);                                 \
    EXPECT_EQ(vecdex::testutil::CodeOf(vecdex_test_st_), (code_value))    \
        << vecdex::testutil::StatusText(vecdex_test_st_);                 \
  } while (0)

namespace vecdex::testutil {

inline std::string StatusText(const Status& s) { return s.ToString(); }
template <typename T>
std::string StatusText(const Result<T>& r) { return r.status().ToString(); }
inline StatusCode CodeOf(const Status& s) { return s.code(); }
template <typename T>
StatusCode CodeOf(const Result<T>& r) { return r.status().code(); }

// The bytes of the file at `path` (empty when it cannot be read).
inline std::vector<uint8_t> ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Replaces the file at `path` with `n` bytes from `data` (the corruption tests' damaged copies).
inline void WriteFileBytes(const std::string& path, const void* data, size_t n) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
  EXPECT_TRUE(out.good()) << path;
}
inline void WriteFileBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  WriteFileBytes(path, bytes.data(), bytes.size());
}

// n x dim row-major standard normal values from a fixed seed.
inline std::vector<float> RandomVectors(size_t n, size_t dim, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> out(n * dim);
  for (float& v : out) v = normal(rng);
  return out;
}

// Labels first, first + 1, ..., first + n - 1.
inline std::vector<Label> Iota(size_t n, Label first = 0) {
  std::vector<Label> labels(n);
  std::iota(labels.begin(), labels.end(), first);
  return labels;
}

// Exact distance under the convention of types.h, computed in double precision.
inline double ReferenceDistance(Metric metric, const float* a, const float* b, size_t dim) {
  double dot = 0, na = 0, nb = 0, l2 = 0;
  for (size_t i = 0; i < dim; ++i) {
    const double x = a[i], y = b[i];
    dot += x * y;
    na += x * x;
    nb += y * y;
    l2 += (x - y) * (x - y);
  }
  switch (metric) {
    case Metric::kL2: return l2;
    case Metric::kInnerProduct: return -dot;
    case Metric::kCosine: return (na == 0 || nb == 0) ? 1.0 : 1.0 - dot / std::sqrt(na * nb);
  }
  return 0;
}

// Exact top-k labels (row indices) of `query` among `n` base rows, ties by smaller index.
inline std::vector<uint64_t> ReferenceTopK(Metric metric, const float* base, size_t n, size_t dim,
                                           const float* query, size_t k) {
  std::vector<std::pair<double, uint64_t>> all(n);
  for (size_t i = 0; i < n; ++i) all[i] = {ReferenceDistance(metric, query, base + i * dim, dim), i};
  k = std::min(k, n);
  std::partial_sort(all.begin(), all.begin() + k, all.end());
  std::vector<uint64_t> out(k);
  for (size_t i = 0; i < k; ++i) out[i] = all[i].second;
  return out;
}

// |found ∩ truth| / |truth|.
inline double Recall(const std::vector<uint64_t>& found, const std::vector<uint64_t>& truth) {
  if (truth.empty()) return 1.0;
  size_t hits = 0;
  for (uint64_t t : truth) hits += std::find(found.begin(), found.end(), t) != found.end();
  return static_cast<double>(hits) / static_cast<double>(truth.size());
}

}  // namespace vecdex::testutil
