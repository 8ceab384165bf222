// HnswIndex: approximate nearest-neighbour search with a Hierarchical Navigable Small World graph
// (Malkov & Yashunin), storing float32, float16 or int8 codes.
//
// Parameters (spec "hnsw:m=16,ef_construction=200,ef_search=100,storage=int8,rerank=true"): see
// HnswOptions in hnsw_graph.h. Layer 0 keeps 2m links, upper layers m; levels are drawn with
// multiplier 1/ln(m) from a seeded generator and capped at max_level.
//
// Ownership: the index owns one Graph through a shared_ptr. Searches copy the pointer (under a
// mutex held only for the copy) and run without any index-wide lock; Compact builds a new graph
// and swaps it in, so searches still running finish on the old one.
//
// Thread safety: every method may be called concurrently with every other. Add and Remove run
// in parallel with each other and with searches (per-node link locks, see hnsw_graph.h).
// Consolidating tombstones and Compact take the writer lock exclusively (they wait for running
// Adds/Removes, never for searches). A concurrent search sees a replaced label's old vector,
// its new one or, for an instant, neither; never both.
//
// Deletes: Remove marks tombstones (never returned, still walked). Once tombstones reach 10% of
// the slots (and at least kMinConsolidate), the next Add or Remove consolidates them: lists that
// named a tombstone are repaired, and the slots are reused after every search that could still
// reach them has finished. Memory therefore stays bounded under insert/delete churn.
//
// Calibration: int8 ranges (per dimension) and the inner-product norm bound (see AugmentedCodec)
// are trained on the first Add batch; later vectors outside them saturate. Add a representative
// first batch (a few thousand rows), or call Compact, which retrains on the live vectors.
//
// Filters: SearchParams::filter (labels) and HnswSearchOptions::id_filter (slots) are applied
// during the walk; selective ones switch to an exact scan (cost model in hnsw_algo.h).
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "index/hnsw/hnsw_algo.h"
#include "index/hnsw/hnsw_graph.h"
#include "index/index_spec.h"
#include "vecdex/index.h"

namespace vecdex {

// Per-call HNSW knobs beyond SearchParams (tests and benchmarks).
struct HnswSearchOptions {
  hnsw::FilterStrategy filter_strategy = hnsw::FilterStrategy::kAuto;
  // Applied with SearchParams::filter (both must match). Ids from InternalIds().
  const hnsw::IdFilter* id_filter = nullptr;
};

// What one Search call did, summed over its queries.
struct HnswSearchStats {
  size_t distance_computations = 0;
  size_t exact_scans = 0;  // queries answered (or completed) by the exact scan
};

struct HnswStats {
  size_t count = 0;                     // live vectors
  size_t deleted = 0;                   // tombstones not yet reclaimed
  size_t free_slots = 0;                // reclaimed slots waiting for reuse
  size_t slots = 0;                     // slots ever used (high-water mark)
  std::vector<size_t> nodes_per_level;  // live nodes whose top layer is i
  size_t memory_bytes = 0;              // as memory_bytes()
  int max_level = 0;
  size_t upper_link_bytes = 0;
  size_t consolidations = 0;  // tombstone consolidations run by this index object
};

class HnswIndex final : public Index {
 public:
  // Tombstones below this count are never consolidated automatically (Compact always is).
  static constexpr size_t kMinConsolidate = 64;

  // Errors: InvalidArgument (options, dim == 0 or > kMaxDimension), ResourceExhausted.
  static Result<std::unique_ptr<HnswIndex>> Create(size_t dim, Metric metric, const hnsw::HnswOptions& options);

  size_t dim() const override { return dim_; }
  Metric metric() const override { return metric_; }
  size_t size() const override;
  size_t memory_bytes() const override;
  std::string spec() const override { return options_.ToSpec(); }
  const hnsw::HnswOptions& options() const { return options_; }

  // See Index::Add. Also ResourceExhausted when the reservation (max_elements) is full (checked
  // before anything changes; only the OS refusing memory mid-batch can leave a prefix added),
  // and FailedPrecondition on a read-only view. The first batch calibrates (see above).
  Status Add(std::span<const Label> labels, MatrixView vectors) override;
  // See Index::Remove. FailedPrecondition on a read-only view.
  Result<size_t> Remove(std::span<const Label> labels) override;
  // See Index::Search. params.ef overrides ef_search (at least k); params.rerank is implied by
  // the rerank option; params.filter is applied during the walk.
  Status Search(MatrixView queries, const SearchParams& params, SearchResults* results) const override;
  // See Index::SearchAmong. A mapped view without a label map scans every slot instead.
  Status SearchAmong(MatrixView queries, std::span<const Label> candidates, const SearchParams& params,
                     SearchResults* results) const override;
  // Search, also reporting the work done (`stats` may be null).
  Status SearchWithStats(MatrixView queries, const SearchParams& params, const HnswSearchOptions& hnsw_options,
                         SearchResults* results, HnswSearchStats* stats) const;

  // Rebuilds the graph from the live vectors (tombstones gone, int8 ranges retrained on the live
  // data, from float32 when rerank keeps it, else from decoded codes). Searches keep running on
  // the old graph meanwhile. Errors: FailedPrecondition on a view, ResourceExhausted.
  Status Compact();

  HnswStats stats() const;

  // The slot of each label (kNoNode's id when absent), for building an IdFilter. Valid until
  // the label is removed or replaced, or Compact renumbers the slots.
  std::vector<hnsw::InternalId> InternalIds(std::span<const Label> labels) const;

  // Writes the index to `path` (docs/format/hnsw.md), atomically (temp file + rename).
  // Errors: IOError naming the path. Runs concurrently with searches; waits for writers.
  Status Save(const std::string& path) const override;
  bool read_only() const override;
  bool concurrent_writes() const override { return true; }
  // Per new label: its block, label slot and float32 copy (rerank), a label-map node, and the
  // upper-layer links of the average node (1 / (m - 1) of the nodes sit above layer 0).
  size_t EstimateAddBytes(size_t count) const override;
  std::vector<Label> Labels() const override;
  // Slots held for removed labels: tombstones plus consolidated slots not yet reused (slots -
  // live). Consolidation keeps tombstones under ~10% of the slots, but only a rebuild (or
  // Compact) gives the slots back and rebuilds the graph around the holes.
  size_t deleted_count() const override;
  // Reads an index written by Save. Errors: IOError (open/read), Corruption naming the section.
  static Result<std::unique_ptr<HnswIndex>> Load(const std::string& path);
  // Maps the file read-only and searches it in place (nothing is copied but the upper-layer
  // pointer table). Checksums and links are verified unless verify is false; an unverified
  // view opens in O(upper layers) and has no label map (InternalIds finds nothing).
  // Add/Remove/Compact return FailedPrecondition. Errors as Load.
  static Result<std::unique_ptr<HnswIndex>> View(const std::string& path, bool verify = true);

  ~HnswIndex() override;

 private:
  HnswIndex(size_t dim, Metric metric, hnsw::HnswOptions options, std::shared_ptr<hnsw::Graph> graph);

  std::shared_ptr<hnsw::Graph> graph() const;
  // Runs search(query, scratch, &found, &stats) for every query row in parallel (cosine rows
  // normalized first) and writes each row's first k results; returns the summed stats.
  template <typename SearchFn>
  hnsw::QueryStats RunQueries(const hnsw::Graph& g, MatrixView queries, size_t k, size_t threads,
                              SearchResults* results, SearchFn&& search) const;
  void SetGraph(std::shared_ptr<hnsw::Graph> graph);
  // Exclusive work before a batch: int8 training on the first batch, consolidation.
  Status Maintain(MatrixView normalized_first_batch);
  bool NeedsConsolidation(const hnsw::Graph& g) const;
  bool NeedsCalibration() const;
  // A new empty graph calibrated on `batch` (int8 ranges, inner-product norm bound).
  Result<std::shared_ptr<hnsw::Graph>> CalibratedGraph(MatrixView batch) const;
  // The live vectors (float32, normalized as stored) and labels of `g`, slot order.
  void ExportLive(const hnsw::Graph& g, std::vector<float>* vectors, std::vector<Label>* labels) const;
  Status InsertBatch(hnsw::Graph& g, std::span<const Label> labels, const float* vectors, size_t rows);

  const size_t dim_;
  const Metric metric_;
  const hnsw::HnswOptions options_;

  mutable std::mutex graph_mu_;
  std::shared_ptr<hnsw::Graph> graph_;  // guarded by graph_mu_ (copied out, then used unlocked)
  // Writers: Add/Remove hold it shared; consolidation, training and Compact exclusively.
  // Searches never take it.
  mutable std::shared_mutex write_mu_;
  // Set (under write_mu_ held exclusively) once the first batch calibrated the storage (int8
  // ranges, inner-product norm bound); read without it.
  std::atomic<bool> calibrated_{false};
  std::atomic<size_t> consolidations_{0};

  // hnsw_io.cc: the graph of a file (read into memory, or mapped when `mapping` is set).
  static Result<std::unique_ptr<HnswIndex>> Open(const std::string& path, bool map, bool verify);
};

// Builds an empty HnswIndex from a parsed spec, consuming m, ef_construction, ef_search, storage
// (f32|f16|int8), rerank, patience, slack, seed, max_level, max_elements, build_threads.
// Errors: InvalidArgument for a bad value or an unknown key.
Result<std::unique_ptr<Index>> CreateHnswIndex(IndexSpec& spec, size_t dim, Metric metric);

}  // namespace vecdex
