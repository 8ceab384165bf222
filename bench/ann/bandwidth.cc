#include "ann/bandwidth.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>

namespace vecdex::bench {
namespace {

// 8 independent 256-bit accumulators: the loop is bound by how fast memory delivers lines, not
// by add latency, so it is a fair ceiling for a streaming scan (which uses the same loads).
__attribute__((target("avx2"))) float SumAvx2(const float* data, size_t count) {
  __m256 acc[8];
  for (auto& a : acc) a = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 64 <= count; i += 64) {
    for (int j = 0; j < 8; ++j) acc[j] = _mm256_add_ps(acc[j], _mm256_loadu_ps(data + i + 8 * j));
  }
  for (int j = 1; j < 8; ++j) acc[0] = _mm256_add_ps(acc[0], acc[j]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, acc[0]);
  float sum = 0;
  for (float v : lanes) sum += v;
  for (; i < count; ++i) sum += data[i];
  return sum;
}

float SumPortable(const float* data, size_t count) {
  float acc[16] = {};
  size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    for (int j = 0; j < 16; ++j) acc[j] += data[i + j];
  }
  float sum = 0;
  for (float a : acc) sum += a;
  for (; i < count; ++i) sum += data[i];
  return sum;
}

}  // namespace

double MeasureReadBandwidthGBps(const float* data, size_t count) {
  const bool avx2 = __builtin_cpu_supports("avx2");
  double best = 0;
  volatile float sink = 0;  // keeps the sum alive
  for (int pass = 0; pass < 3; ++pass) {
    const auto start = std::chrono::steady_clock::now();
    sink = sink + (avx2 ? SumAvx2(data, count) : SumPortable(data, count));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, static_cast<double>(count * sizeof(float)) / seconds / 1e9);
  }
  return best;
}

}  // namespace vecdex::bench
