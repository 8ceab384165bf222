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
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

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
  // Exact search among `candidates` only: the params.k nearest of the listed labels (labels not
  // in the index are skipped; params.filter, when set, must also match). The plan for selective
  // filters whose matching labels are known up front: its cost is O(candidates), not O(size()).
  // Results as Search (rows of min(k, size()) slots, padded when fewer candidates exist).
  virtual Status SearchAmong(MatrixView queries, std::span<const Label> candidates, const SearchParams& params,
                             SearchResults* results) const = 0;

  // ---- persistence and bookkeeping (what a collection needs to derive an index from its store)

  // Writes the index to `path` in its kind's file format (docs/format/<kind>.md), atomically:
  // "<path>.tmp" is written, fsynced and renamed over `path`, then the directory is fsynced.
  // May run concurrently with searches; waits for (or excludes) writers as each kind states.
  // Errors: IOError naming the path.
  virtual Status Save(const std::string& path) const = 0;
  // True for a read-only view of a mapped file: Add and Remove return FailedPrecondition.
  virtual bool read_only() const { return false; }
  // Whether Add and Remove may run concurrently with Search. When false the caller must
  // serialise writers against readers (e.g. with a shared_mutex).
  virtual bool concurrent_writes() const { return false; }
  // How many bytes memory_bytes() would grow by if `count` new labels were added: an estimate
  // (exact for fixed-size rows, average-based for graph links), used by memory budgets.
  virtual size_t EstimateAddBytes(size_t count) const = 0;
  // Every live label, in no particular order (verification against the source of truth).
  virtual std::vector<Label> Labels() const = 0;
  // Removed labels whose space the index still holds (tombstones a rebuild would drop).
  virtual size_t deleted_count() const { return 0; }
};

// Builds an empty index from a spec: "flat", "hnsw", "hnsw:m=16,ef_construction=200,storage=int8".
// Errors: InvalidArgument for an unknown kind or key, a malformed value, dim == 0 or too large.
Result<std::unique_ptr<Index>> CreateIndex(std::string_view spec, size_t dim, Metric metric);

enum class IndexOpenMode : uint8_t {
  kRead = 0,  // copy the file into memory: a writable index
  kMap = 1,   // map it read-only and search in place where the kind supports it (else kRead)
};

// Opens a file written by Index::Save, whichever kind wrote it (recognised by its magic), with
// every checksum verified. Errors: IOError (cannot open/read), Corruption naming the file and
// the damaged part (bad magic, checksum, truncation), FailedPrecondition for a format version
// this build does not know.
Result<std::unique_ptr<Index>> OpenIndexFile(const std::string& path, IndexOpenMode mode);

}  // namespace vecdex
