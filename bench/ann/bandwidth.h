// A STREAM-like read-bandwidth probe: the ceiling a memory-bound scan can reach on one core.
#pragma once

#include <cstddef>

namespace vecdex::bench {

// Sums `count` floats with one thread (AVX2 loads into 8 independent accumulators when the CPU
// has AVX2, so the loop is bound by memory, not by add latency); returns the best of three passes
// in GB/s (1e9 bytes/s).
double MeasureReadBandwidthGBps(const float* data, size_t count);

}  // namespace vecdex::bench
