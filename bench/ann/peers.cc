// Peer libraries measured in the same process as vecdex: FAISS (flat) and hnswlib (HNSW).
// Bench-only: each is compiled in only when its Debian package is installed
// (VECDEX_HAVE_FAISS / VECDEX_HAVE_HNSWLIB), and the engine never links them.
#include <cblas.h>

#include <cmath>
#include <string>
#include <vector>

#include "ann/searcher.h"
#include "common/parallel.h"

#ifdef VECDEX_HAVE_FAISS
#include <faiss/IndexFlat.h>
#include <omp.h>
#endif
#ifdef VECDEX_HAVE_HNSWLIB
#include <hnswlib/hnswlib.h>
#endif

namespace vecdex::bench {
namespace {

// Peers see cosine as inner product over normalized copies (what their users do).
std::vector<float> NormalizedCopy(MatrixView m) {
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

#ifdef VECDEX_HAVE_FAISS
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
#endif

#ifdef VECDEX_HAVE_HNSWLIB
// hnswlib's HierarchicalNSW with the same M, ef_construction and seed; batches are spread over
// threads the way its Python binding does (one query per task).
class Hnswlib final : public Searcher {
 public:
  Hnswlib(const IndexConfig& config, size_t dim) : config_(config), dim_(dim) {
    if (config.metric == Metric::kL2) {
      space_ = std::make_unique<hnswlib::L2Space>(dim);
    } else {
      space_ = std::make_unique<hnswlib::InnerProductSpace>(dim);
    }
  }
  std::string library() const override { return "hnswlib"; }
  std::string params() const override {
    return "m=" + std::to_string(config_.m) + ";ef_construction=" + std::to_string(config_.ef_construction);
  }
  Status Build(MatrixView base, size_t threads) override {
    std::vector<float> normalized;
    const float* data = base.data;
    if (config_.metric == Metric::kCosine) {
      normalized = NormalizedCopy(base);
      data = normalized.data();
    }
    index_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), base.rows, config_.m,
                                                               config_.ef_construction, config_.seed);
    ParallelFor(base.rows, 64, threads, [&](size_t begin, size_t end, size_t) {
      for (size_t i = begin; i < end; ++i) index_->addPoint(data + i * dim_, i);
    });
    return Status::Ok();
  }
  size_t memory_bytes() const override {
    // hnswlib allocates level-0 data for max_elements up front, plus one link block per node
    // with upper levels, plus its label map.
    size_t bytes = index_->max_elements_ * index_->size_data_per_element_;
    for (size_t i = 0; i < index_->cur_element_count; ++i) {
      bytes += static_cast<size_t>(index_->element_levels_[i]) * index_->size_links_per_element_;
    }
    bytes += index_->max_elements_ * (sizeof(void*) + sizeof(int));  // linkLists_, element_levels_
    bytes += index_->label_lookup_.size() * (sizeof(void*) + 2 * sizeof(size_t)) +
             index_->label_lookup_.bucket_count() * sizeof(void*);
    bytes += index_->max_elements_ * sizeof(std::mutex);  // link_list_locks_
    return bytes;
  }
  Status Search(MatrixView queries, size_t k, size_t ef, size_t threads, SearchResults* out) override {
    k = std::min(k, static_cast<size_t>(index_->cur_element_count));
    index_->setEf(std::max(ef, k));
    std::vector<float> normalized;
    const float* q = queries.data;
    if (config_.metric == Metric::kCosine) {
      normalized = NormalizedCopy(queries);
      q = normalized.data();
    }
    out->Resize(queries.rows, k);
    ParallelFor(queries.rows, 16, threads, [&](size_t begin, size_t end, size_t) {
      for (size_t i = begin; i < end; ++i) {
        auto heap = index_->searchKnn(q + i * dim_, k);
        for (size_t r = heap.size(); r-- > 0;) {
          out->labels_of(i)[r] = heap.top().second;
          out->distances_of(i)[r] = heap.top().first;
          heap.pop();
        }
      }
    });
    return Status::Ok();
  }

 private:
  IndexConfig config_;
  size_t dim_;
  std::unique_ptr<hnswlib::SpaceInterface<float>> space_;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> index_;
};
#endif

}  // namespace

std::vector<std::string> AvailablePeers() {
  std::vector<std::string> peers;
#ifdef VECDEX_HAVE_FAISS
  peers.push_back("faiss");
#endif
#ifdef VECDEX_HAVE_HNSWLIB
  peers.push_back("hnswlib");
#endif
  return peers;
}

Result<std::unique_ptr<Searcher>> MakePeerSearcher(const std::string& name, const IndexConfig& config,
                                                   size_t dim) {
  if (name == "faiss") {
#ifdef VECDEX_HAVE_FAISS
    if (config.kind != "flat") return Status::InvalidArgument("the faiss peer runs only --index flat");
    return std::unique_ptr<Searcher>(std::make_unique<FaissFlat>(config.metric, dim));
#else
    return Status::NotFound("peer faiss is not compiled in (install libfaiss-dev and rebuild)");
#endif
  }
  if (name == "hnswlib") {
#ifdef VECDEX_HAVE_HNSWLIB
    if (config.kind != "hnsw") return Status::InvalidArgument("the hnswlib peer runs only --index hnsw");
    return std::unique_ptr<Searcher>(std::make_unique<Hnswlib>(config, dim));
#else
    return Status::NotFound("peer hnswlib is not compiled in (install libhnswlib-dev and rebuild)");
#endif
  }
  return Status::InvalidArgument("unknown peer '" + name + "' (known: faiss, hnswlib)");
}

}  // namespace vecdex::bench
