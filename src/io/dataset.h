// Datasets held in memory (what the .fvecs/.ivecs/.bvecs/.npy readers return and the writers
// take).
//
// Datasets are plain values: the struct owns its vector, copies deep-copy it, and the usual rule
// applies for threads (concurrent const access is safe, any write needs exclusive access).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "vecdex/status.h"
#include "vecdex/types.h"

namespace vecdex::io {

// Every format here is little-endian on disk and the code moves bytes with memcpy; a big-endian
// port must add byte swapping in vecs_io.cc and npy_io.cc first.
static_assert(std::endian::native == std::endian::little, "vecdex io assumes a little-endian host");

// Largest vector dimension the readers accept and the writers produce. Real embeddings stay far
// below it; a larger value in a file is almost surely a corrupt header, and the bound keeps a bad
// header from turning into a huge allocation.
inline constexpr size_t kMaxDim = 65536;

// A row-major float32 matrix that owns its values: row i is values[i * dim, (i + 1) * dim).
// Invariant: values.size() == rows * dim.
struct FloatDataset {
  size_t rows = 0;
  size_t dim = 0;
  std::vector<float> values;

  MatrixView view() const { return {values.data(), rows, dim}; }
  const float* row(size_t i) const { return values.data() + i * dim; }
};

// A read-only row-major int32 matrix that does not own its memory (the int32 twin of MatrixView).
struct IntMatrixView {
  const int32_t* data = nullptr;
  size_t rows = 0;
  size_t dim = 0;

  const int32_t* row(size_t i) const { return data + i * dim; }
};

// A row-major int32 matrix that owns its values (e.g. ground-truth neighbor ids from .ivecs).
// Invariant: values.size() == rows * dim.
struct IntDataset {
  size_t rows = 0;
  size_t dim = 0;
  std::vector<int32_t> values;

  IntMatrixView view() const { return {values.data(), rows, dim}; }
  const int32_t* row(size_t i) const { return values.data() + i * dim; }
};

}  // namespace vecdex::io
