#include "ann/bandwidth.h"

#include <algorithm>
#include <chrono>

namespace vecdex::bench {

double MeasureReadBandwidthGBps(const float* data, size_t count) {
  double best = 0;
  volatile float sink = 0;  // keeps the sum alive
  for (int pass = 0; pass < 3; ++pass) {
    const auto start = std::chrono::steady_clock::now();
    float acc[16] = {};
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
      for (int j = 0; j < 16; ++j) acc[j] += data[i + j];
    }
    for (; i < count; ++i) acc[0] += data[i];
    float sum = 0;
    for (float a : acc) sum += a;
    sink = sink + sum;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, static_cast<double>(count * sizeof(float)) / seconds / 1e9);
  }
  return best;
}

}  // namespace vecdex::bench
