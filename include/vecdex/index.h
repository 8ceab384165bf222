// The interface every vector index kind implements (flat, hnsw, ivfpq), and the factory that
// builds one from a spec string.
//
// An index maps caller-chosen labels to vectors of one dimension under one metric and answers
// k-nearest-neighbour queries in batches (a row-major query matrix in, a caller-owned result
// buffer out). Distances follow the convention in types.h (smaller is nearer).
//
// Thread safety: const methods may run concurrently with each other. Whether writers (Add,
// Remove) may run concurrently with searches is stated by each kind; the flat index requires
// external synchronisation between writers and readers.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "vecdex/status.h"
#include "vecdex/types.h"

namespace vecdex {

class Index {
 public:
  virtual ~Index() = default;

  virtual size_t dim() const = 0;
  virtual Metric metric() const = 0;
  // Live (searchable) vectors.
  virtual size_t size() const = 0;
  // Bytes of memory the index holds (vectors, graph, maps), exactly as allocated.
  virtual size_t memory_bytes() const = 0;
  // The spec that rebuilds an equivalent empty index, e.g. "hnsw:m=16,ef_construction=200".
  virtual std::string spec() const = 0;

  // Adds vectors.rows vectors; labels[i] names row i. A label already present is replaced.
  // Errors (nothing is changed): InvalidArgument when labels.size() != vectors.rows, the
  // dimension differs, a component is NaN/Inf, a label is kNoLabel or appears twice in the batch.
  virtual Status Add(std::span<const Label> labels, MatrixView vectors) = 0;

  // Removes the given labels; labels not present are ignored. Returns how many were removed.
  virtual Result<size_t> Remove(std::span<const Label> labels) = 0;

  // Finds the params.k nearest vectors of each query row. `results` is resized to
  // queries.rows x min(k, size()) (k is clamped to the size; an empty index gives rows of
  // width 0). Rows are nearest first. Errors (results untouched): InvalidArgument for a wrong
  // dimension, a NaN/Inf component, or k == 0.
  virtual Status Search(MatrixView queries, const SearchParams& params, SearchResults* results) const = 0;
};

// Builds an empty index from a spec: "flat", "hnsw", "hnsw:m=16,ef_construction=200,storage=int8".
// Errors: InvalidArgument for an unknown kind or key, a malformed value, dim == 0 or too large.
Result<std::unique_ptr<Index>> CreateIndex(std::string_view spec, size_t dim, Metric metric);

}  // namespace vecdex
