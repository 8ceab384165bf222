// FAISS IndexFlat as a bench peer. Compiled only when Debian's libfaiss-dev is installed.
#include <cblas.h>
#include <faiss/IndexFlat.h>
#include <omp.h>

#include <algorithm>
#include <string>
#include <vector>

#include "ann/peer_util.h"
#include "common/parallel.h"

namespace vecdex::bench {
namespace {

// FAISS IndexFlat, with FAISS's own threading: OpenMP for its loops and OpenBLAS's threads for
// its sgemm (vecdex keeps OpenBLAS single-threaded, so the count is set around each call).
class FaissFlat final : public Searcher {
 public:
  FaissFlat(Metric metric, size_t dim) : metric_(metric) {
    if (metric == Metric::kL2) {
      index_ = std::make_unique<faiss::IndexFlatL2>(static_cast<faiss::Index::idx_t>(dim));
    } else {
      index_ = std::make_unique<faiss::IndexFlatIP>(static_cast<faiss::Index::idx_t>(dim));
    }
  }
  std::string library() const override { return "faiss"; }
  std::string params() const override { return ""; }
  Status Build(MatrixView base, size_t) override {
    if (metric_ == Metric::kCosine) {
      const std::vector<float> copy = NormalizedCopy(base);
      index_->add(static_cast<faiss::Index::idx_t>(base.rows), copy.data());
    } else {
      index_->add(static_cast<faiss::Index::idx_t>(base.rows), base.data);
    }
    return Status::Ok();
  }
  size_t memory_bytes() const override { return index_->codes.size(); }
  Status Search(MatrixView queries, size_t k, size_t, size_t threads, SearchResults* out) override {
    k = std::min<size_t>(k, static_cast<size_t>(index_->ntotal));
    std::vector<float> normalized;
    const float* q = queries.data;
    if (metric_ == Metric::kCosine) {
      normalized = NormalizedCopy(queries);
      q = normalized.data();
    }
    std::vector<float> distances(queries.rows * k);
    std::vector<faiss::Index::idx_t> labels(queries.rows * k);
    const int t = static_cast<int>(ResolveThreads(threads, SIZE_MAX));
    omp_set_num_threads(t);
    openblas_set_num_threads(t);
    index_->search(static_cast<faiss::Index::idx_t>(queries.rows), q, static_cast<faiss::Index::idx_t>(k), distances.data(),
                   labels.data());
    openblas_set_num_threads(1);
    out->Resize(queries.rows, k);
    for (size_t i = 0; i < labels.size(); ++i) {
      out->labels[i] = labels[i] < 0 ? kNoLabel : static_cast<Label>(labels[i]);
      out->distances[i] = distances[i];
    }
    return Status::Ok();
  }

 private:
  Metric metric_;
  std::unique_ptr<faiss::IndexFlat> index_;
};

}  // namespace

std::unique_ptr<Searcher> MakeFaissFlat(Metric metric, size_t dim) { return std::make_unique<FaissFlat>(metric, dim); }

}  // namespace vecdex::bench
