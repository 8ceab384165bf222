// vecdex's own indexes behind the bench's Searcher interface.
#include <numeric>
#include <string>

#include "ann/searcher.h"
#include "vecdex/index.h"

namespace vecdex::bench {
namespace {

std::string SpecFor(const IndexConfig& config) {
  if (config.kind == "hnsw") {
    return "hnsw:m=" + std::to_string(config.m) + ",ef_construction=" + std::to_string(config.ef_construction) +
           ",storage=" + config.storage + ",rerank=" + (config.rerank ? "true" : "false") +
           (config.patience != 0 ? ",patience=" + std::to_string(config.patience) : std::string()) +
           (config.slack != 0 ? ",slack=" + std::to_string(config.slack) : std::string()) +
           ",seed=" + std::to_string(config.seed);
  }
  return config.kind;
}

class VecdexSearcher final : public Searcher {
 public:
  VecdexSearcher(std::unique_ptr<Index> index, std::string spec) : index_(std::move(index)), spec_(std::move(spec)) {}

  std::string library() const override { return "vecdex"; }
  std::string params() const override {
    const size_t colon = spec_.find(':');
    if (colon == std::string::npos) return "";
    std::string p = spec_.substr(colon + 1);
    for (char& c : p) c = c == ',' ? ';' : c;  // CSV-safe
    return p;
  }
  Status Build(MatrixView base, size_t) override {
    std::vector<Label> labels(base.rows);
    std::iota(labels.begin(), labels.end(), Label{0});
    return index_->Add(labels, base);
  }
  size_t memory_bytes() const override { return index_->memory_bytes(); }
  Status Search(MatrixView queries, size_t k, size_t ef, size_t threads, SearchResults* out) override {
    SearchParams params;
    params.k = k;
    params.ef = ef;
    params.threads = threads;
    return index_->Search(queries, params, out);
  }
  Index* vecdex_index() override { return index_.get(); }

 private:
  std::unique_ptr<Index> index_;
  std::string spec_;
};

}  // namespace

Result<std::unique_ptr<Searcher>> MakeVecdexSearcher(const IndexConfig& config, size_t dim) {
  const std::string spec = SpecFor(config);
  VECDEX_ASSIGN_OR_RETURN(std::unique_ptr<Index> index, CreateIndex(spec, dim, config.metric));
  return std::unique_ptr<Searcher>(std::make_unique<VecdexSearcher>(std::move(index), spec));
}

}  // namespace vecdex::bench
