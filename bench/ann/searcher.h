// What the ANN bench measures: anything that builds from a base matrix and answers k-NN batches.
// vecdex's own indexes and the peers (FAISS, hnswlib) sit behind this one interface, so every
// library runs the same queries through the same timing loop in the same process.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "vecdex/index.h"
#include "vecdex/status.h"
#include "vecdex/types.h"

namespace vecdex::bench {

// Index configuration shared by vecdex and its peers (each maps what it understands).
struct IndexConfig {
  std::string kind = "flat";  // flat | hnsw | ivfpq
  Metric metric = Metric::kL2;
  std::string storage = "f32";
  size_t m = 16;
  size_t ef_construction = 200;
  bool rerank = false;
  size_t patience = 0;  // vecdex HNSW: early termination, percent of ef (0 = off)
  size_t slack = 0;     // vecdex HNSW: early termination, percent of the k-th distance (0 = off)
  uint64_t seed = 42;
};

class Searcher {
 public:
  virtual ~Searcher() = default;
  virtual std::string library() const = 0;  // "vecdex", "faiss", "hnswlib"
  // "m=16;ef_construction=200" style; empty when the index has no parameters.
  virtual std::string params() const = 0;
  virtual Status Build(MatrixView base, size_t threads) = 0;
  virtual size_t memory_bytes() const = 0;
  // Searches all queries with `threads` workers; ef == 0 for indexes without a beam.
  virtual Status Search(MatrixView queries, size_t k, size_t ef, size_t threads, SearchResults* out) = 0;
  // vecdex's index, for the runs only vecdex supports (filters, deletes); null for peers.
  virtual Index* vecdex_index() { return nullptr; }
};

// vecdex's index of config.kind.
Result<std::unique_ptr<Searcher>> MakeVecdexSearcher(const IndexConfig& config, size_t dim);

// A peer library by name ("faiss", "hnswlib"). Errors: NotFound when it was not compiled in,
// InvalidArgument when it has no index of config.kind.
Result<std::unique_ptr<Searcher>> MakePeerSearcher(const std::string& name, const IndexConfig& config, size_t dim);

// Names of the peers compiled into this binary.
std::vector<std::string> AvailablePeers();

}  // namespace vecdex::bench
