// The bench runs only vecdex supports: a sweep over filters of chosen selectivity, and a churn
// run (delete a share of the points, re-insert them) that shows recall and memory staying put.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <random>
#include <unordered_set>

#include "ann/bench_data.h"
#include "ann/report.h"
#include "index/flat/flat_index.h"

namespace vecdex::bench {
namespace {

// Admits a label when a hash of it falls below `share`: a random-looking subset of the points
// of the wanted size, the same in every run.
class HashedShareFilter final : public LabelFilter {
 public:
  explicit HashedShareFilter(double share) : cutoff_(static_cast<uint64_t>(share * 1e6)) {}
  bool Matches(Label label) const override { return (label * 0x9E3779B97F4A7C15ull >> 40) % 1000000 < cutoff_; }

 private:
  uint64_t cutoff_;
};

// Admits every label not in the set.
class ExcludeFilter final : public LabelFilter {
 public:
  explicit ExcludeFilter(const std::unordered_set<Label>* excluded) : excluded_(excluded) {}
  bool Matches(Label label) const override { return excluded_->count(label) == 0; }

 private:
  const std::unordered_set<Label>* excluded_;
};

std::vector<size_t> SweepOf(const BenchOptions& options) {
  return options.ef.empty() ? std::vector<size_t>{0} : options.ef;
}

SearchFn IndexSearch(const Index& index, size_t k, size_t ef, const LabelFilter* filter) {
  return [&index, k, ef, filter](MatrixView queries, size_t threads, SearchResults* out) {
    SearchParams params;
    params.k = k;
    params.ef = ef;
    params.threads = threads;
    params.filter = filter;
    return index.Search(queries, params, out);
  };
}

// Measures the sweep on `index` against `truth`; appends rows whose params carry `tag`.
Status MeasureSweep(const Index& index, const BenchData& data, const GroundTruth& truth, const BenchOptions& options,
                    const BenchRow& base_row, const std::string& tag, const LabelFilter* filter,
                    std::vector<BenchRow>* rows, std::ostream& out) {
  for (size_t ef : SweepOf(options)) {
    BenchRow row = base_row;
    row.main_sweep = false;
    row.ef = ef;
    row.params = base_row.params.empty() ? tag : base_row.params + ";" + tag;
    row.memory_bytes = index.memory_bytes();
    VECDEX_RETURN_IF_ERROR(MeasurePoint(IndexSearch(index, options.k, ef, filter), data, truth, options, &row));
    char line[320];
    std::snprintf(line, sizeof line, "  %-22s ef %5s  recall@%zu %.4f  qps_1t %9.1f  qps_nt %9.1f  memory %s\n",
                  tag.c_str(), ef == 0 ? "-" : std::to_string(ef).c_str(), options.k, row.recall, row.qps_1t,
                  row.qps_nt, FormatBytes(row.memory_bytes).c_str());
    out << line << std::flush;
    rows->push_back(row);
  }
  return Status::Ok();
}

std::vector<Label> Iota(size_t n) {
  std::vector<Label> labels(n);
  std::iota(labels.begin(), labels.end(), Label{0});
  return labels;
}

}  // namespace

Status RunFilteredSweep(Index& index, const BenchData& data, const BenchOptions& options, const BenchRow& base_row,
                        std::vector<BenchRow>* rows, std::ostream& out) {
  out << "\nfiltered search (filter admits a hashed share of the points; truth = exact filtered top-" << options.k
      << "):\n";
  for (double share : options.filter_selectivity) {
    if (share <= 0 || share > 1) return Status::InvalidArgument("filter selectivity must be in (0, 1]");
    const HashedShareFilter filter(share);
    VECDEX_ASSIGN_OR_RETURN(GroundTruth truth, ComputeGroundTruth(data.base.view(), data.queries.view(),
                                                                  index.metric(), options.k, options.threads,
                                                                  &filter));
    char tag[48];
    std::snprintf(tag, sizeof tag, "filter=%g", share);
    VECDEX_RETURN_IF_ERROR(MeasureSweep(index, data, truth, options, base_row, tag, &filter, rows, out));
  }
  return Status::Ok();
}

Status RunChurn(Index& index, const BenchData& data, const BenchOptions& options, const BenchRow& base_row,
                std::vector<BenchRow>* rows, std::ostream& out) {
  using Clock = std::chrono::steady_clock;
  const double share = options.churn_fraction;
  if (share <= 0 || share >= 1) return Status::InvalidArgument("churn fraction must be in (0, 1)");
  const size_t n = data.base.rows;
  std::vector<Label> order = Iota(n);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(options.seed));
  const std::vector<Label> removed(order.begin(), order.begin() + static_cast<ptrdiff_t>(share * n));
  const std::unordered_set<Label> removed_set(removed.begin(), removed.end());
  const ExcludeFilter rest(&removed_set);
  char tag[48];
  std::snprintf(tag, sizeof tag, "churn=%g", share);
  out << "\nchurn: delete " << removed.size() << " of " << n << " points, then re-insert them (memory before: "
      << FormatBytes(index.memory_bytes()) << "):\n";

  auto start = Clock::now();
  VECDEX_ASSIGN_OR_RETURN(size_t count, index.Remove(removed));
  const double remove_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (count != removed.size()) return Status::Internal("churn: removed " + std::to_string(count) + " points");
  out << "  deleted in " << FormatSeconds(remove_seconds) << "\n";
  VECDEX_ASSIGN_OR_RETURN(GroundTruth rest_truth, ComputeGroundTruth(data.base.view(), data.queries.view(),
                                                                     index.metric(), options.k, options.threads, &rest));
  VECDEX_RETURN_IF_ERROR(MeasureSweep(index, data, rest_truth, options, base_row, std::string(tag) + ";after_delete",
                                      nullptr, rows, out));

  // The reference: a fresh index built from the remaining points only.
  {
    VECDEX_ASSIGN_OR_RETURN(std::unique_ptr<Index> fresh, CreateIndex(index.spec(), index.dim(), index.metric()));
    std::vector<Label> kept(order.begin() + static_cast<ptrdiff_t>(removed.size()), order.end());
    std::sort(kept.begin(), kept.end());
    std::vector<float> vectors(kept.size() * data.base.dim);
    for (size_t i = 0; i < kept.size(); ++i) {
      std::copy_n(data.base.row(kept[i]), data.base.dim, vectors.data() + i * data.base.dim);
    }
    VECDEX_RETURN_IF_ERROR(fresh->Add(kept, {vectors.data(), kept.size(), data.base.dim}));
    VECDEX_RETURN_IF_ERROR(MeasureSweep(*fresh, data, rest_truth, options, base_row, std::string(tag) + ";fresh_build",
                                        nullptr, rows, out));
  }

  std::vector<float> vectors(removed.size() * data.base.dim);
  for (size_t i = 0; i < removed.size(); ++i) {
    std::copy_n(data.base.row(removed[i]), data.base.dim, vectors.data() + i * data.base.dim);
  }
  start = Clock::now();
  VECDEX_RETURN_IF_ERROR(index.Add(removed, {vectors.data(), removed.size(), data.base.dim}));
  out << "  re-inserted in " << FormatSeconds(std::chrono::duration<double>(Clock::now() - start).count()) << "\n";
  return MeasureSweep(index, data, data.truth, options, base_row, std::string(tag) + ";after_reinsert", nullptr, rows,
                      out);
}

}  // namespace vecdex::bench
