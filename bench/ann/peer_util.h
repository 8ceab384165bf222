// What the peer adapters share.
#pragma once

#include <cmath>
#include <memory>
#include <vector>

#include "ann/searcher.h"

namespace vecdex::bench {

// Peers see cosine as inner product over normalized copies (what their users do).
inline std::vector<float> NormalizedCopy(MatrixView m) {
  std::vector<float> out(m.data, m.data + m.rows * m.dim);
  for (size_t r = 0; r < m.rows; ++r) {
    float* v = out.data() + r * m.dim;
    double sum = 0;
    for (size_t i = 0; i < m.dim; ++i) sum += static_cast<double>(v[i]) * v[i];
    if (sum == 0) continue;
    const float inv = static_cast<float>(1.0 / std::sqrt(sum));
    for (size_t i = 0; i < m.dim; ++i) v[i] *= inv;
  }
  return out;
}

// Each is defined in its own file (compiled only when the peer's package is installed).
std::unique_ptr<Searcher> MakeFaissFlat(Metric metric, size_t dim);
std::unique_ptr<Searcher> MakeHnswlib(const IndexConfig& config, size_t dim);

}  // namespace vecdex::bench
