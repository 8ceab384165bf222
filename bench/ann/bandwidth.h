// A STREAM-like read-bandwidth probe: the ceiling a memory-bound scan can reach on one core.
#pragma once

#include <cstddef>

namespace vecdex::bench {

// Sums `count` floats with one thread (several independent accumulators, so the loop is bound
// by memory, not by add latency); returns the best of three passes in GB/s (1e9 bytes/s).
double MeasureReadBandwidthGBps(const float* data, size_t count);

}  // namespace vecdex::bench
