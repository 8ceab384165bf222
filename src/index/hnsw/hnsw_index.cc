#include "index/hnsw/hnsw_index.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include "common/parallel.h"
#include "common/vector_checks.h"

namespace vecdex {

using hnsw::Graph;
using hnsw::HnswOptions;

namespace {

// Rows per work item of a batch insert: small, so the cores stay balanced.
constexpr size_t kInsertChunk = 16;

// Copies `rows` rows into `out`, normalized when the metric is cosine.
void PrepareRows(const float* data, size_t rows, size_t dim, Metric metric, std::vector<float>* out) {
  out->assign(data, data + rows * dim);
  if (metric == Metric::kCosine) {
    for (size_t r = 0; r < rows; ++r) hnsw::NormalizeInPlace(out->data() + r * dim, dim);
  }
}

}  // namespace

HnswIndex::HnswIndex(size_t dim, Metric metric, HnswOptions options, std::shared_ptr<Graph> graph)
    : dim_(dim), metric_(metric), options_(std::move(options)), graph_(std::move(graph)) {}

HnswIndex::~HnswIndex() = default;

Result<std::unique_ptr<HnswIndex>> HnswIndex::Create(size_t dim, Metric metric, const HnswOptions& options) {
  VECDEX_ASSIGN_OR_RETURN(std::unique_ptr<Graph> graph, Graph::Create(dim, metric, options, nullptr));
  return std::unique_ptr<HnswIndex>(new HnswIndex(dim, metric, options, std::move(graph)));
}

std::shared_ptr<Graph> HnswIndex::graph() const {
  std::lock_guard<std::mutex> lock(graph_mu_);
  return graph_;
}

void HnswIndex::SetGraph(std::shared_ptr<Graph> graph) {
  std::lock_guard<std::mutex> lock(graph_mu_);
  graph_.swap(graph);
  // The old graph is released here, or by the last search still holding it.
}

size_t HnswIndex::size() const { return graph()->live_count.load(); }

size_t HnswIndex::deleted_count() const {
  // Slots are live, tombstoned, or consolidated and free for reuse: the last two are what a
  // rebuild gives back. Live is read first: a concurrent Add raises slots before live.
  const std::shared_ptr<hnsw::Graph> g = graph();
  const size_t live = g->live_count.load();
  const size_t slots = g->num_slots.load();
  return slots > live ? slots - live : 0;
}

size_t HnswIndex::memory_bytes() const { return sizeof(*this) + graph()->memory_bytes(); }

bool HnswIndex::read_only() const { return graph()->read_only; }

size_t HnswIndex::EstimateAddBytes(size_t count) const {
  const std::shared_ptr<Graph> g = graph();
  const size_t m = g->layout.m;
  size_t per_node = g->layout.stride + sizeof(Label) + (g->keep_raw ? dim_ * sizeof(float) : 0);
  per_node += sizeof(void*) + sizeof(Label) + sizeof(uint32_t) + sizeof(size_t) + 4;  // label map
  per_node += g->layout.upper_words * sizeof(uint32_t) / (m > 1 ? m - 1 : 1) + sizeof(void*);  // upper links
  return count * per_node;
}

std::vector<Label> HnswIndex::Labels() const {
  const std::shared_ptr<Graph> g = graph();
  std::vector<Label> labels;
  const uint32_t slots = g->num_slots.load();
  labels.reserve(g->live_count.load());
  for (uint32_t id = 0; id < slots; ++id) {
    const uint32_t meta = g->meta(id);
    if ((meta & hnsw::kMetaPublished) != 0 && (meta & hnsw::kMetaDeleted) == 0) labels.push_back(g->label(id));
  }
  return labels;
}

bool HnswIndex::NeedsConsolidation(const Graph& g) const {
  const size_t deleted = g.deleted_count.load();
  return deleted >= kMinConsolidate && deleted * 10 >= g.num_slots.load();
}

bool HnswIndex::NeedsCalibration() const {
  return (options_.storage == Scalar::kInt8 || metric_ == Metric::kInnerProduct) && !calibrated_.load();
}

Result<std::shared_ptr<Graph>> HnswIndex::CalibratedGraph(MatrixView batch) const {
  const simd::Int8Ranges ranges = simd::TrainInt8Ranges(batch.data, batch.rows, dim_);
  VECDEX_ASSIGN_OR_RETURN(
      std::unique_ptr<Graph> g,
      Graph::Create(dim_, metric_, options_, options_.storage == Scalar::kInt8 ? &ranges : nullptr));
  if (metric_ == Metric::kInnerProduct) {
    double max_norm_sq = 0;
    for (size_t r = 0; r < batch.rows; ++r) {
      double n = 0;
      for (size_t i = 0; i < dim_; ++i) n += static_cast<double>(batch.row(r)[i]) * batch.row(r)[i];
      max_norm_sq = std::max(max_norm_sq, n);
    }
    g->ip_phi = static_cast<float>(std::sqrt(max_norm_sq));
  }
  return std::shared_ptr<Graph>(std::move(g));
}

Status HnswIndex::Maintain(MatrixView batch) {
  std::shared_ptr<Graph> g = graph();
  if (NeedsCalibration() && batch.rows > 0 && g->num_slots.load() == 0) {
    // The first batch calibrates the storage (int8 ranges, inner-product norm bound). The graph
    // is empty, so a calibrated one replaces it (searches may hold the old one).
    VECDEX_ASSIGN_OR_RETURN(std::shared_ptr<Graph> calibrated, CalibratedGraph(batch));
    SetGraph(std::move(calibrated));
    calibrated_.store(true);
    return Status::Ok();
  }
  if (NeedsConsolidation(*g)) {
    hnsw::ConsolidateDeletes(*g, options_.build_threads);
    consolidations_.fetch_add(1);
  }
  return Status::Ok();
}

Status HnswIndex::InsertBatch(Graph& g, std::span<const Label> labels, const float* vectors, size_t rows) {
  const size_t free_slots = [&] {
    std::lock_guard<std::mutex> lock(g.map_mu);
    return g.free_slots.size();
  }();
  if (g.num_slots.load() + rows > g.capacity + free_slots) {
    return Status::ResourceExhausted("hnsw: adding " + std::to_string(rows) + " vectors exceeds the capacity of " +
                                     std::to_string(g.capacity) +
                                     " slots; create the index with a larger max_elements");
  }
  std::mutex error_mu;
  Status first_error;
  ParallelFor(rows, kInsertChunk, options_.build_threads, [&](size_t begin, size_t end, size_t) {
    hnsw::ScratchLease s(g.scratch);
    for (size_t r = begin; r < end; ++r) {
      Status st = hnsw::InsertOne(g, labels[r], vectors + r * dim_, *s);
      if (!st.ok()) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (first_error.ok()) first_error = st;
        return;
      }
    }
  });
  return first_error;
}

Status HnswIndex::Add(std::span<const Label> labels, MatrixView vectors) {
  VECDEX_RETURN_IF_ERROR(CheckLabels(labels, vectors.rows));
  VECDEX_RETURN_IF_ERROR(CheckVectors(vectors, dim_, "vector"));
  if (vectors.rows == 0) return Status::Ok();
  if (graph()->read_only) return Status::FailedPrecondition("hnsw: a mapped index view is read-only");
  std::vector<float> normalized;
  const float* data = vectors.data;
  if (metric_ == Metric::kCosine) {
    PrepareRows(vectors.data, vectors.rows, dim_, metric_, &normalized);
    data = normalized.data();
  }
  if (NeedsCalibration() || NeedsConsolidation(*graph())) {
    std::unique_lock<std::shared_mutex> exclusive(write_mu_);
    VECDEX_RETURN_IF_ERROR(Maintain(MatrixView{data, vectors.rows, dim_}));
  }
  std::shared_lock<std::shared_mutex> shared(write_mu_);
  std::shared_ptr<Graph> g = graph();
  return InsertBatch(*g, labels, data, vectors.rows);
}

Result<size_t> HnswIndex::Remove(std::span<const Label> labels) {
  std::shared_ptr<Graph> g = graph();
  if (g->read_only) return Status::FailedPrecondition("hnsw: a mapped index view is read-only");
  size_t removed = 0;
  {
    std::shared_lock<std::shared_mutex> shared(write_mu_);
    g = graph();
    for (Label label : labels) removed += hnsw::RemoveOne(*g, label);
  }
  if (NeedsConsolidation(*g)) {
    std::unique_lock<std::shared_mutex> exclusive(write_mu_);
    VECDEX_RETURN_IF_ERROR(Maintain(MatrixView{}));
  }
  return removed;
}

template <typename SearchFn>
hnsw::QueryStats HnswIndex::RunQueries(const Graph& g, MatrixView queries, size_t k, size_t threads,
                                       SearchResults* results, SearchFn&& search) const {
  std::atomic<size_t> distances{0}, exact_scans{0};
  ParallelFor(queries.rows, 1, threads, [&](size_t begin, size_t end, size_t) {
    hnsw::ScratchLease s(g.scratch);
    std::vector<Neighbor> found;
    hnsw::QueryStats local;
    for (size_t q = begin; q < end; ++q) {
      const float* query = queries.row(q);
      if (metric_ == Metric::kCosine) {
        s->vector.assign(query, query + dim_);
        hnsw::NormalizeInPlace(s->vector.data(), dim_);
        query = s->vector.data();
      }
      search(query, *s, &found, &local);
      // A concurrent Remove may leave fewer than k: the row keeps its kNoLabel/+inf padding.
      const size_t n = std::min(found.size(), k);
      for (size_t i = 0; i < n; ++i) {
        results->labels_of(q)[i] = found[i].label;
        results->distances_of(q)[i] = found[i].distance;
      }
    }
    distances.fetch_add(local.distance_computations);
    exact_scans.fetch_add(local.exact_scans);
  });
  hnsw::QueryStats total;
  total.distance_computations = distances.load();
  total.exact_scans = exact_scans.load();
  return total;
}

Status HnswIndex::Search(MatrixView queries, const SearchParams& params, SearchResults* results) const {
  return SearchWithStats(queries, params, HnswSearchOptions{}, results, nullptr);
}

Status HnswIndex::SearchWithStats(MatrixView queries, const SearchParams& params, const HnswSearchOptions& hnsw_options,
                                  SearchResults* results, HnswSearchStats* stats) const {
  if (params.k == 0) return Status::InvalidArgument("hnsw: k must be at least 1");
  if (results == nullptr) return Status::InvalidArgument("hnsw: results is null");
  VECDEX_RETURN_IF_ERROR(CheckVectors(queries, dim_, "query"));
  std::shared_ptr<Graph> g = graph();
  const size_t k = std::min(params.k, g->live_count.load());
  results->Resize(queries.rows, k);
  if (k == 0 || queries.rows == 0) return Status::Ok();

  hnsw::QueryOptions opts;
  opts.k = k;
  opts.ef = params.ef != 0 ? params.ef : options_.ef_search;
  opts.patience = hnsw::PatienceExpansions(options_.patience, std::max(opts.ef, k));
  opts.reach = hnsw::ReachOfSlack(options_.slack);
  opts.rerank = g->keep_raw;
  opts.filter = params.filter;
  opts.id_filter = hnsw_options.id_filter;
  opts.strategy = hnsw_options.filter_strategy;
  const hnsw::QueryStats total = RunQueries(*g, queries, k, params.threads, results,
                                             [&](const float* query, hnsw::SearchScratch& s, std::vector<Neighbor>* found,
                                                 hnsw::QueryStats* local) { hnsw::SearchOne(*g, query, opts, s, found, local); });
  if (stats != nullptr) {
    stats->distance_computations = total.distance_computations;
    stats->exact_scans = total.exact_scans;
  }
  return Status::Ok();
}

namespace {

// Admits the labels of a sorted list (and of the caller's filter, when there is one).
class SortedLabelFilter final : public LabelFilter {
 public:
  SortedLabelFilter(std::vector<Label> sorted, const LabelFilter* also) : sorted_(std::move(sorted)), also_(also) {}
  bool Matches(Label label) const override {
    return std::binary_search(sorted_.begin(), sorted_.end(), label) && (also_ == nullptr || also_->Matches(label));
  }

 private:
  std::vector<Label> sorted_;
  const LabelFilter* also_;
};

}  // namespace

Status HnswIndex::SearchAmong(MatrixView queries, std::span<const Label> candidates, const SearchParams& params,
                              SearchResults* results) const {
  if (params.k == 0) return Status::InvalidArgument("hnsw: k must be at least 1");
  if (results == nullptr) return Status::InvalidArgument("hnsw: results is null");
  VECDEX_RETURN_IF_ERROR(CheckVectors(queries, dim_, "query"));
  std::shared_ptr<Graph> g = graph();
  const size_t k = std::min(params.k, g->live_count.load());
  results->Resize(queries.rows, k);
  if (k == 0 || queries.rows == 0) return Status::Ok();

  // Labels to slots once for all queries, sorted so that the scan reads memory forward.
  std::vector<uint32_t> slots;
  bool has_map = true;
  {
    std::lock_guard<std::mutex> lock(g->map_mu);
    has_map = !(g->read_only && g->slot_of.size() == 0);
    if (has_map) {
      slots.reserve(candidates.size());
      g->slot_of.FindMany(candidates, g->label_array(), &slots);
    }
  }
  if (!has_map) {
    // An unverified mapped view has no label map: every slot is checked against the list.
    std::vector<Label> sorted(candidates.begin(), candidates.end());
    std::sort(sorted.begin(), sorted.end());
    const SortedLabelFilter filter(std::move(sorted), params.filter);
    SearchParams exact = params;
    exact.filter = &filter;
    HnswSearchOptions options;
    options.filter_strategy = hnsw::FilterStrategy::kExact;
    return SearchWithStats(queries, exact, options, results, nullptr);
  }
  std::sort(slots.begin(), slots.end());
  slots.erase(std::unique(slots.begin(), slots.end()), slots.end());

  hnsw::QueryOptions opts;
  opts.k = k;
  opts.filter = params.filter;
  RunQueries(*g, queries, k, params.threads, results,
             [&](const float* query, hnsw::SearchScratch& s, std::vector<Neighbor>* found, hnsw::QueryStats* local) {
               hnsw::SearchSlots(*g, query, slots, opts, s, found, local);
             });
  return Status::Ok();
}

void HnswIndex::ExportLive(const Graph& g, std::vector<float>* vectors, std::vector<Label>* labels) const {
  vectors->clear();
  labels->clear();
  const uint32_t slots = g.num_slots.load();
  std::vector<float> row(dim_);
  for (uint32_t id = 0; id < slots; ++id) {
    const uint32_t meta = g.meta(id);
    if ((meta & hnsw::kMetaPublished) == 0 || (meta & hnsw::kMetaDeleted) != 0) continue;
    if (g.keep_raw) {
      std::memcpy(row.data(), g.raw(id), dim_ * sizeof(float));
    } else {
      hnsw::WithCodec(g, [&](const auto& codec) { codec.Decode(g.code(id), row.data()); });
    }
    vectors->insert(vectors->end(), row.begin(), row.end());
    labels->push_back(g.label(id));
  }
}

Status HnswIndex::Compact() {
  std::unique_lock<std::shared_mutex> exclusive(write_mu_);
  std::shared_ptr<Graph> old = graph();
  if (old->read_only) return Status::FailedPrecondition("hnsw: a mapped index view is read-only");
  std::vector<float> vectors;
  std::vector<Label> labels;
  ExportLive(*old, &vectors, &labels);
  if (labels.empty()) {
    // Nothing live: start over, calibrating again on the next batch.
    VECDEX_ASSIGN_OR_RETURN(std::unique_ptr<Graph> empty, Graph::Create(dim_, metric_, options_, nullptr));
    SetGraph(std::move(empty));
    calibrated_.store(false);
    return Status::Ok();
  }
  std::shared_ptr<Graph> rebuilt = old;
  if (NeedsCalibration() || calibrated_.load()) {
    // Recalibrate on the live data (int8 ranges, IP norm bound) into a new graph held aside.
    VECDEX_ASSIGN_OR_RETURN(rebuilt, CalibratedGraph(MatrixView{vectors.data(), labels.size(), dim_}));
    calibrated_.store(true);
  } else {
    VECDEX_ASSIGN_OR_RETURN(std::unique_ptr<Graph> fresh, Graph::Create(dim_, metric_, options_, nullptr));
    rebuilt = std::move(fresh);
  }
  VECDEX_RETURN_IF_ERROR(InsertBatch(*rebuilt, labels, vectors.data(), labels.size()));
  SetGraph(std::move(rebuilt));
  return Status::Ok();
}

std::vector<hnsw::InternalId> HnswIndex::InternalIds(std::span<const Label> labels) const {
  std::shared_ptr<Graph> g = graph();
  std::vector<hnsw::InternalId> ids;
  ids.reserve(labels.size());
  std::lock_guard<std::mutex> lock(g->map_mu);
  for (Label label : labels) {
    ids.push_back(hnsw::ToId(g->slot_of.Find(label, g->label_array())));
  }
  return ids;
}

HnswStats HnswIndex::stats() const {
  std::shared_ptr<Graph> g = graph();
  HnswStats st;
  st.count = g->live_count.load();
  st.deleted = g->deleted_count.load();
  st.slots = g->num_slots.load();
  {
    std::lock_guard<std::mutex> lock(g->map_mu);
    st.free_slots = g->free_slots.size();
  }
  for (uint32_t id = 0; id < st.slots; ++id) {
    const uint32_t meta = g->meta(id);
    if ((meta & hnsw::kMetaPublished) == 0 || (meta & hnsw::kMetaDeleted) != 0) continue;
    const size_t level = meta & hnsw::kMetaLevelMask;
    if (st.nodes_per_level.size() <= level) st.nodes_per_level.resize(level + 1, 0);
    ++st.nodes_per_level[level];
  }
  st.max_level = static_cast<int>(g->entry.load() >> 32);
  st.upper_link_bytes = g->upper_bytes.load();
  st.consolidations = consolidations_.load();
  st.memory_bytes = memory_bytes();
  return st;
}

Result<std::unique_ptr<Index>> CreateHnswIndex(IndexSpec& spec, size_t dim, Metric metric) {
  HnswOptions o;
  VECDEX_ASSIGN_OR_RETURN(o.m, spec.TakeSize("m", o.m, 2, HnswOptions::kMaxM));
  VECDEX_ASSIGN_OR_RETURN(o.ef_construction, spec.TakeSize("ef_construction", o.ef_construction, 1, 1'000'000));
  VECDEX_ASSIGN_OR_RETURN(o.ef_search, spec.TakeSize("ef_search", o.ef_search, 1, 1'000'000));
  VECDEX_ASSIGN_OR_RETURN(o.patience, spec.TakeSize("patience", o.patience, 0, HnswOptions::kMaxPatience));
  VECDEX_ASSIGN_OR_RETURN(o.slack, spec.TakeSize("slack", o.slack, 0, HnswOptions::kMaxSlack));
  VECDEX_ASSIGN_OR_RETURN(std::string storage, spec.TakeString("storage", "f32"));
  const std::optional<Scalar> scalar = ParseScalar(storage);
  if (!scalar) return Status::InvalidArgument("hnsw: storage must be f32, f16 or int8, got '" + storage + "'");
  o.storage = *scalar;
  VECDEX_ASSIGN_OR_RETURN(o.rerank, spec.TakeBool("rerank", o.rerank));
  VECDEX_ASSIGN_OR_RETURN(size_t seed, spec.TakeSize("seed", o.seed, 0, SIZE_MAX));
  o.seed = seed;
  VECDEX_ASSIGN_OR_RETURN(o.max_level, spec.TakeSize("max_level", o.max_level, 1, HnswOptions::kMaxLevelCap));
  VECDEX_ASSIGN_OR_RETURN(o.max_elements, spec.TakeSize("max_elements", o.max_elements, 0, 0xFFFFFFFEu));
  VECDEX_ASSIGN_OR_RETURN(o.build_threads, spec.TakeSize("build_threads", o.build_threads, 0, 4096));
  VECDEX_RETURN_IF_ERROR(spec.CheckAllConsumed());
  VECDEX_ASSIGN_OR_RETURN(std::unique_ptr<HnswIndex> index, HnswIndex::Create(dim, metric, o));
  return std::unique_ptr<Index>(std::move(index));
}

}  // namespace vecdex
