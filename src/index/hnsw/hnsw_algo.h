// The HNSW algorithms over a Graph: search (hnsw_search.cc) and insertion, neighbour selection
// and tombstone consolidation (hnsw_build.cc). Internal to src/index/hnsw.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <span>
#include <vector>

#include "common/top_k.h"
#include "index/hnsw/hnsw_graph.h"
#include "vecdex/types.h"

namespace vecdex::hnsw {

// Accepts every live (not deleted) node as a result.
struct LiveFilter {
  bool Accept(const Graph& g, uint32_t id) const { return (g.meta(id) & kMetaDeleted) == 0; }
};

// Accepts every node, deleted or not (the build walks and ranks through tombstones).
struct AnyFilter {
  bool Accept(const Graph&, uint32_t) const { return true; }
};

// A filter over internal ids (slots), for callers that resolved their condition to slots (see
// HnswIndex::InternalIds). Evaluated during the walk; must be safe to call from several threads.
class IdFilter {
 public:
  virtual ~IdFilter() = default;
  virtual bool Matches(InternalId id) const = 0;
};

// One bit per slot.
class IdBitmap final : public IdFilter {
 public:
  explicit IdBitmap(size_t slots) : words_((slots + 63) / 64, 0) {}
  // Ignores kNoNode (a label InternalIds did not find).
  void Set(InternalId id) {
    const uint32_t i = ToRaw(id);
    if (i == kNoNode) return;
    if (i / 64 >= words_.size()) words_.resize(i / 64 + 1, 0);
    words_[i / 64] |= uint64_t{1} << (i % 64);
  }
  bool Matches(InternalId id) const override {
    const uint32_t i = ToRaw(id);
    return i / 64 < words_.size() && ((words_[i / 64] >> (i % 64)) & 1) != 0;
  }

 private:
  std::vector<uint64_t> words_;
};

// Accepts live nodes that pass the caller's label filter and id filter (either may be null).
struct UserFilter {
  const LabelFilter* labels;
  const IdFilter* ids;
  bool Matches(const Graph& g, uint32_t id) const {
    return (ids == nullptr || ids->Matches(ToId(id))) && (labels == nullptr || labels->Matches(g.label(id)));
  }
  bool Accept(const Graph& g, uint32_t id) const { return (g.meta(id) & kMetaDeleted) == 0 && Matches(g, id); }
};

// Inner-product indexes build their graph in the MIPS-to-L2 space of Bachrach et al. (2014):
// x' = [x, a(x)] with a(x) = sqrt(phi^2 - |x|^2), so |x' - y'|^2 = |x - y|^2 + (a(x) - a(y))^2 is a
// metric (the neighbour heuristic needs one), and for a query q' = [q, 0],
// |q' - x'|^2 = |q|^2 + phi^2 - 2 q.x ranks exactly as -q.x. So searching the graph with -q.x is
// an L2 search of the augmented points. phi is the largest norm of the first batch (Compact
// recomputes it); a(x) is stored as one float after the code, 0 for longer vectors.
// Measured on clustered data (3k x 32, m=16): recall@10 at ef=100 goes from 0.82 (hnswlib, a
// plain IP graph) to 0.93-0.97, at ef=200 from 0.89 to 0.99.
template <class Codec>
class AugmentedCodec {
 public:
  AugmentedCodec(const Codec& inner, float phi) : inner_(inner), phi_sq_(phi * phi) {}
  size_t dim() const { return inner_.dim(); }
  void Prepare(const float* x, QueryCode* q) const {
    inner_.PrepareAs(x, Metric::kL2, q);
    q->aux = Aux(x, inner_.dim(), phi_sq_);
  }
  void PrepareCode(const uint8_t* code, QueryCode* q) const {
    inner_.PrepareCodeAs(code, Metric::kL2, q);
    q->aux = AuxOf(code);
  }
  float Distance(const QueryCode& q, const uint8_t* code) const { return Bind(q)(code); }
  struct Bound {
    typename Codec::Bound inner;
    float aux;
    size_t aux_offset;
    float operator()(const uint8_t* code) const {
      float a;
      std::memcpy(&a, code + aux_offset, sizeof(a));
      const float d = aux - a;
      return inner(code) + d * d;
    }
  };
  Bound Bind(const QueryCode& q) const { return {inner_.Bind(q), q.aux, inner_.code_bytes()}; }
  static float Aux(const float* x, size_t dim, float phi_sq) {
    double norm_sq = 0;
    for (size_t i = 0; i < dim; ++i) norm_sq += static_cast<double>(x[i]) * x[i];
    return norm_sq >= phi_sq ? 0.0f : static_cast<float>(std::sqrt(phi_sq - norm_sq));
  }

 private:
  float AuxOf(const uint8_t* code) const {
    float a;
    std::memcpy(&a, code + inner_.code_bytes(), sizeof(a));
    return a;
  }
  const Codec& inner_;
  float phi_sq_;
};

// Scores the float32 copies that f16/int8 indexes keep for re-ranking: when they exist, the
// graph is built from exact distances (a better graph, and no per-candidate query preparation
// of quantized codes), and only searches walk the codes.
class RawF32Codec : public F32Codec {
 public:
  explicit RawF32Codec(const F32Codec& f32) : F32Codec(f32) {}
};

// Where a codec's codes live: slot i's code is at Base(g) + i * Stride(g).
template <class Codec>
struct CodeSpace {
  static const uint8_t* Base(const Graph& g) { return g.block(0) + g.layout.code_offset; }
  static size_t Stride(const Graph& g) { return g.layout.stride; }
  static size_t Bytes(const Graph& g) { return g.layout.code_bytes; }
};
template <>
struct CodeSpace<RawF32Codec> {
  static const uint8_t* Base(const Graph& g) { return g.raws.data(); }
  static size_t Stride(const Graph& g) { return g.dim * sizeof(float); }
  static size_t Bytes(const Graph& g) { return g.dim * sizeof(float); }
};
template <class Codec>
struct CodeSpace<AugmentedCodec<Codec>> : CodeSpace<Codec> {};

template <class Codec>
const uint8_t* CodeOf(const Graph& g, uint32_t id) {
  return CodeSpace<Codec>::Base(g) + static_cast<size_t>(id) * CodeSpace<Codec>::Stride(g);
}

// Runs fn(codec) with the codec the build scores with: the float32 copies when kept (except
// for inner product, whose augmented coordinate lives beside the codes), augmented for inner
// product, else the storage codec.
template <typename Fn>
void WithBuildCodec(const Graph& g, Fn&& fn) {
  if (g.keep_raw && g.metric != Metric::kInnerProduct) {
    fn(RawF32Codec(g.f32));
    return;
  }
  WithCodec(g, [&](const auto& codec) {
    using Codec = std::decay_t<decltype(codec)>;
    if (g.metric == Metric::kInnerProduct) {
      fn(AugmentedCodec<Codec>(codec, g.ip_phi));
    } else {
      fn(codec);
    }
  });
}

// Greedy walk from `*entry` (distance `*entry_distance`) down to layer `to_level` + 1.
template <class Codec>
void GreedyDescend(const Graph& g, const Codec& codec, const QueryCode& q, int from_level, int to_level,
                   uint32_t* entry, float* entry_distance, SearchScratch& s);

// Early termination of a beam search, two rules (each off when 0; a search stops at the first
// that fires, once k nodes were accepted):
//   - patience: the k nearest accepted nodes have not changed during `patience` consecutive
//     expansions;
//   - reach: the nearest unexpanded candidate is farther than `reach` times the k-th nearest
//     accepted node, in squared distance (`shift` turns inner-product scores into squared
//     distances, see ReachShift). NGT bounds its search range the same way.
//
// Why: the beam (ef) must be wide enough for the hardest queries, but most queries find their
// k nearest long before the beam is exhausted and then spend the rest of it confirming them.
// Measured on glove-100 (331k, cosine, m 16, ef_construction 200, k 10), distances per query
// at recall@10 = 0.95 (same graph, deterministic counts):
//   f32:  off 2,860; patience 30% of ef 2,440; reach 1.2 2,290; both 2,222 (-22%).
//   int8: off 2,938; patience 30% 2,490; reach 1.2 2,324; both 2,263 (-23%).
// Patience 50% saves 10% at 0.95 and 75% 4%; 15-20% need a wider beam for the same recall.
// Reach caps the recall any ef can reach (glove f32, reach 1.2: 0.980 at ef 800; 1.15 stays
// under 0.94; 1.3 saves half as much as 1.2). A reach relative to the beam's bound instead
// (stop beyond d_k + x (d_ef - d_k)) saved nothing at equal recall.
struct EarlyStop {
  size_t k = 0;
  size_t patience = 0;
  float reach = 0.0f;
  float shift = 0.0f;
};

// Reach of a slack in percent: 1.2 for 20, 0 (off) for 0.
inline float ReachOfSlack(size_t percent) { return percent == 0 ? 0.0f : 1.0f + static_cast<float>(percent) / 100.0f; }

// The shift that turns a query's distances into squared distances up to a constant factor
// (which EarlyStop::reach, a ratio, ignores). L2 distances already are squared, cosine ones
// half squared (1 - cos = |q - x|^2 / 2 for unit vectors): 0. Inner product scores -q.x, which
// in the augmented build space (AugmentedCodec) is (|q' - x'|^2 - |q|^2 - phi^2) / 2: the
// shift is (|q|^2 + phi^2) / 2.
inline float ReachShift(Metric metric, const float* query, size_t dim, float phi) {
  if (metric != Metric::kInnerProduct) return 0.0f;
  double norm_sq = 0;
  for (size_t i = 0; i < dim; ++i) norm_sq += static_cast<double>(query[i]) * query[i];
  return static_cast<float>((norm_sq + static_cast<double>(phi) * phi) / 2);
}

// Expansions of patience for a beam of `ef`: `percent` of ef, rounded up (0 = off).
inline size_t PatienceExpansions(size_t percent, size_t ef) { return (percent * ef + 99) / 100; }

// Beam search of one layer from one entry. On return s.results is a max-heap of at most `ef`
// accepted nodes (nearest `ef` found). Deleted and rejected nodes are walked through.
template <class Codec, class Filter>
void SearchLayer(const Graph& g, const Codec& codec, const QueryCode& q, uint32_t entry, float entry_distance,
                 int level, size_t ef, const Filter& filter, SearchScratch& s, EarlyStop stop = {});

// Filtered queries: the exact scan is chosen when its modelled cost is below the graph walk's,
// both in units of one distance computed during a graph walk (a random access):
//   exact = slots * kFilterCallCost + matches * kScanDistanceCost
//   graph = kWalkDistancesPerEf * ef / selectivity
// Measured on 20k x 128 f32 (ef=100, k=10, one core): a walk costs 75-160 ns per distance and
// computes ~400/selectivity distances; the scan costs 4 ns per slot (filter call, meta and
// label loads) plus 14 ns per match. Crossover: selectivity ~0.25 at 20k points (graph 155 us
// vs scan 138 us at 0.2; 81 us vs 237 us at 0.5), ~0.01 at 1M points by the model.
inline constexpr double kFilterCallCost = 0.05;
inline constexpr double kScanDistanceCost = 0.2;
inline constexpr double kWalkDistancesPerEf = 4.0;
inline constexpr size_t kSelectivitySamples = 512;

// How a filtered query runs: chosen by the cost model, or forced (tests, benchmarks).
enum class FilterStrategy : uint8_t { kAuto, kGraph, kExact };

struct QueryOptions {
  size_t k = 10;
  size_t ef = 100;
  bool rerank = false;  // re-score the nearest candidates with the float32 copies (CollectResults)
  size_t patience = 0;  // early termination after this many expansions (see EarlyStop); 0 = off
  float reach = 0.0f;   // early termination beyond this ratio of the k-th distance (EarlyStop); 0 = off
  const LabelFilter* filter = nullptr;
  const IdFilter* id_filter = nullptr;
  FilterStrategy strategy = FilterStrategy::kAuto;
};

struct QueryStats {
  size_t distance_computations = 0;
  size_t exact_scans = 0;
};

// Nearest `opts.k` live nodes to `query` (already normalized for cosine), nearest first, into
// *out as (distance, label). Thread-safe against concurrent inserts, removes and searches.
void SearchOne(const Graph& g, const float* query, const QueryOptions& opts, SearchScratch& s,
               std::vector<Neighbor>* out, QueryStats* stats);

// Exact top-`opts.k` among `slots` (kNoNode, dead and filter-rejected slots skipped; float32
// copies when kept), nearest first, into *out. Codes are prefetched a few slots ahead, so the
// cost per slot is close to a sequential scan's when `slots` is sorted.
void SearchSlots(const Graph& g, const float* query, std::span<const uint32_t> slots, const QueryOptions& opts,
                 SearchScratch& s, std::vector<Neighbor>* out, QueryStats* stats);

// Inserts one vector (normalized for cosine) under `label`, replacing a live node of the same
// label. Caller holds the index's shared writer lock. Errors: ResourceExhausted (graph full).
Status InsertOne(Graph& g, Label label, const float* vector, SearchScratch& s);

// Marks the node of `label` deleted. Returns false when the label is not present.
bool RemoveOne(Graph& g, Label label);

// Unlinks every tombstone, repairing the lists that pointed to one (their live neighbours plus
// the tombstone's live neighbours, pruned by the heuristic), waits until no search can still
// hold one, then frees their slots for reuse. Caller holds the exclusive writer lock.
void ConsolidateDeletes(Graph& g, size_t threads);

}  // namespace vecdex::hnsw
