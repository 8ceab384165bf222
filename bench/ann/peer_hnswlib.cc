// hnswlib as a bench peer. Compiled only when Debian's libhnswlib-dev is installed, and with
// -march=native: hnswlib picks its distance code at compile time (#ifdef __AVX512F__ / __AVX__),
// so without it the peer would run its SSE fallback, which is not how its users build it.
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "ann/peer_util.h"
#include "common/parallel.h"

namespace vecdex::bench {
namespace {

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

}  // namespace

std::unique_ptr<Searcher> MakeHnswlib(const IndexConfig& config, size_t dim) {
  return std::make_unique<Hnswlib>(config, dim);
}

}  // namespace vecdex::bench
