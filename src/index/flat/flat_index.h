// FlatIndex: exact nearest-neighbour search by scanning every vector. The recall baseline that
// every approximate index is measured against, and the right index for small collections.
//
// Storage: float32 rows, contiguous and cache-line aligned, in slot order; slot i holds label
// labels_[i]. Cosine vectors are normalized on Add (a zero vector stays zero). Remove moves the
// last row into the freed slot, so rows stay dense and a scan never skips holes.
//
// Search has two paths with identical results:
//   - few queries (< kGemmMinQueries): each query streams the rows through the distance kernel,
//     block by block, keeping the top k in a heap. Memory-bandwidth bound.
//   - many queries: blocks of queries against blocks of rows through one single-threaded
//     OpenBLAS sgemm per tile (q.x; L2 adds |x|^2), so a block of queries reads the rows once.
//     The best k + margin candidates per query are then re-scored with the exact kernel, so the
//     final distances and order equal those of the first path.
// Ties: equal distances are ordered by the smaller label (see common/top_k.h).
//
// Persistence: Save writes docs/format/flat.md (flat_io.cc); Load reads it back, bit for bit.
//
// Thread safety: Search and Save (const) may run concurrently with each other; Add and Remove
// need exclusive access (the caller serialises writers against readers: concurrent_writes() is
// false).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/aligned_allocator.h"
#include "common/top_k.h"
#include "index/index_spec.h"
#include "simd/kernels.h"
#include "vecdex/index.h"

namespace vecdex {

class FlatIndex final : public Index {
 public:
  // Queries per call from which the sgemm path is used (measured: below it the per-tile
  // overhead outweighs reading the rows fewer times).
  static constexpr size_t kGemmMinQueries = 16;
  // The first 8 bytes of a file written by Save (how OpenIndexFile recognises the kind).
  static constexpr char kFileMagic[9] = "VDXFLAT1";

  FlatIndex(size_t dim, Metric metric);

  size_t dim() const override { return dim_; }
  Metric metric() const override { return metric_; }
  size_t size() const override { return labels_.size(); }
  size_t memory_bytes() const override;
  std::string spec() const override { return "flat"; }

  Status Add(std::span<const Label> labels, MatrixView vectors) override;
  Result<size_t> Remove(std::span<const Label> labels) override;
  Status Search(MatrixView queries, const SearchParams& params, SearchResults* results) const override;
  Status SearchAmong(MatrixView queries, std::span<const Label> candidates, const SearchParams& params,
                     SearchResults* results) const override;

  // Writes docs/format/flat.md atomically (temp file, fsync, rename, directory fsync).
  // Errors: IOError naming the path.
  Status Save(const std::string& path) const override;
  // Per new label: its row, its |x|^2, its label slot, a label-map node and one bucket pointer
  // (the map keeps load factor <= 1). Exact apart from vector capacity growth and bucket-count
  // rounding to a prime.
  size_t EstimateAddBytes(size_t count) const override;
  std::vector<Label> Labels() const override { return labels_; }
  // Remove frees rows at once (the last row moves into the hole): never any tombstones.
  size_t deleted_count() const override { return 0; }
  // Reads a file written by Save, every checksum verified. Errors: IOError (open/read),
  // Corruption naming the file and the damaged part, FailedPrecondition for a format version
  // this build does not know.
  static Result<std::unique_ptr<FlatIndex>> Load(const std::string& path);

  // The stored (for cosine: normalized) vector of a label, or nullptr. Valid until the next write.
  const float* Find(Label label) const;

 private:
  // Scores one query against every row; fills `top` (already Reset to the wanted size).
  void ScanOne(const float* query, const LabelFilter* filter, TopK* top, std::vector<float>* scratch) const;
  // Scores queries [begin, end) with sgemm tiles and writes their final rows into `results`.
  void GemmBlock(const float* queries, size_t begin, size_t end, size_t k, const LabelFilter* filter,
                 SearchResults* results) const;
  // Exact distance between a (prepared) query and slot `slot`.
  float Distance(const float* query, size_t slot) const;
  // Copies `count` queries into `out`, normalized for cosine.
  void PrepareQueries(const float* queries, size_t count, std::vector<float>* out) const;
  void WriteRow(std::vector<Neighbor>* sorted, size_t k, size_t query, SearchResults* results) const;

  size_t dim_;
  Metric metric_;
  simd::F32Pair pair_distance_;    // l2 or dot (cosine rows are normalized: dot)
  AlignedVector<float> vectors_;   // size() x dim_, slot order
  std::vector<float> norms_sq_;    // |x|^2 per slot (L2 sgemm path)
  std::vector<Label> labels_;      // slot -> label
  std::unordered_map<Label, size_t> slot_of_;
};

// Builds a FlatIndex from a parsed spec ("flat" takes no options).
Result<std::unique_ptr<Index>> CreateFlatIndex(IndexSpec& spec, size_t dim, Metric metric);

}  // namespace vecdex
