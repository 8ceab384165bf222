// The search hot loop: greedy descent through the upper layers, then a beam search of layer 0
// with a candidate min-heap and a result max-heap. Templated on the codec (storage) and the
// filter, so the unfiltered f32 loop has no branch on either.
#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>

#include "index/hnsw/hnsw_algo.h"

namespace vecdex::hnsw {
namespace {

inline void Prefetch(const void* p) { __builtin_prefetch(p, 0, 3); }

// Neighbour codes in flight ahead of the one being scored. A graph walk is bound by memory
// latency: one ahead leaves most of each miss exposed, all at once overflows the core's miss
// buffers. Measured on glove-100 (Zen 4, huge pages): 1 -> 3819 QPS at ef 160, 2 -> 4158,
// 4 -> 4391, 6 -> 4321, 8 -> 4287.
constexpr size_t kPrefetchAhead = 4;

// Candidates re-scored from float32 (re-rank): kRerankPerResult per requested result, at least
// kMinRerankPool.
constexpr size_t kRerankPerResult = 4;
constexpr size_t kMinRerankPool = 40;

// Software-prefetches the start of a code and leaves the rest to the L2 stream prefetcher,
// which follows the first misses without holding L1 miss buffers: every line of a code of up to
// 4 lines, else the first half, 4 to 8 lines. A graph walk is bound by those buffers: the
// prefetch instructions themselves held 45% of the f32 walk loop's samples when every line
// (up to 12) was prefetched. Measured (CPU time, best of 5 x 2,000 queries, 4 alternating
// rounds): glove-100 f32 (400-byte codes, 7-8 lines), 4 lines instead of all of them: +3-8% at
// ef 40/80/160; 768-d f32 (48 lines), 8 lines as fast as 12, while 4 lost 2-4%.
// Lines are counted from the code's first byte (a 400-byte code that starts late in a line
// spans 8 lines, not 7).
[[gnu::always_inline]] inline void PrefetchCode(const uint8_t* code, size_t bytes) {
  const uintptr_t first = reinterpret_cast<uintptr_t>(code) & ~uintptr_t{63};
  const uintptr_t lines = (((reinterpret_cast<uintptr_t>(code) + bytes - 1) & ~uintptr_t{63}) - first) / 64 + 1;
  const uintptr_t prefetched = lines <= 4 ? lines : std::clamp<uintptr_t>(lines / 2, 4, 8);
  for (uintptr_t i = 0; i < prefetched; ++i) Prefetch(reinterpret_cast<const void*>(first + i * 64));
}

// Heap orders as function objects (inlined, unlike function pointers through std::*_heap).
struct NearerOnTop {
  bool operator()(const Candidate& a, const Candidate& b) const { return a.distance > b.distance; }
};
// Nearer first as a sort order; as a heap order it keeps the farthest on top.
struct ByDistance {
  bool operator()(const Candidate& a, const Candidate& b) const { return a.distance < b.distance; }
};
constexpr NearerOnTop NearerFirst{};
constexpr ByDistance FartherFirst{};

// Replaces the root of a non-empty max-heap (the farthest result) by `c` and restores the heap:
// one sift-down instead of a push and a pop.
inline void ReplaceFarthest(std::vector<Candidate>& heap, Candidate c) {
  Candidate* h = heap.data();
  const size_t n = heap.size();
  size_t i = 0;
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && h[child + 1].distance > h[child].distance) ++child;
    if (h[child].distance <= c.distance) break;
    h[i] = h[child];
    i = child;
  }
  h[i] = c;
}

// Filter calls per sampled slot give the fraction of live nodes that match.
double EstimateSelectivity(const Graph& g, const UserFilter& filter) {
  const uint32_t slots = g.num_slots.load(std::memory_order_acquire);
  if (slots == 0) return 0.0;
  const size_t step = std::max<size_t>(1, slots / kSelectivitySamples);
  size_t live = 0, matched = 0;
  for (size_t id = 0; id < slots; id += step) {
    const uint32_t meta = g.meta(static_cast<uint32_t>(id));
    if ((meta & kMetaPublished) == 0 || (meta & kMetaDeleted) != 0) continue;
    ++live;
    matched += filter.Matches(g, static_cast<uint32_t>(id));
  }
  return live == 0 ? 0.0 : static_cast<double>(matched) / static_cast<double>(live);
}

// True when a label repeats in `list` (small lists: quadratic, no allocation).
bool HasDuplicateLabel(const std::vector<Neighbor>& list) {
  if (list.size() > 64) {
    std::vector<Label> labels(list.size());
    for (size_t i = 0; i < list.size(); ++i) labels[i] = list[i].label;
    std::sort(labels.begin(), labels.end());
    return std::adjacent_find(labels.begin(), labels.end()) != labels.end();
  }
  for (size_t i = 1; i < list.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (list[i].label == list[j].label) return true;
    }
  }
  return false;
}

// A search that overlaps a replace can accept the old node (still live when scored) and the
// new one (published later): keep the nearer, so a label is returned at most once.
// `sorted` is nearest first.
void RemoveDuplicateLabels(std::vector<Neighbor>* sorted) {
  if (!HasDuplicateLabel(*sorted)) return;
  std::unordered_set<Label> seen;
  size_t kept = 0;
  for (const Neighbor& n : *sorted) {
    if (seen.insert(n.label).second) (*sorted)[kept++] = n;
  }
  sorted->resize(kept);
}

// Exact top-k over every live slot the filter matches (a UserFilter of two nulls matches all).
template <class Codec>
void ExactScan(const Graph& g, const Codec& codec, const QueryCode& q, const QueryCode& raw_query, bool use_raw,
               const UserFilter& filter, size_t k, SearchScratch& s, std::vector<Neighbor>* out) {
  TopK top(k);
  const uint32_t slots = g.num_slots.load(std::memory_order_acquire);
  for (uint32_t id = 0; id < slots; ++id) {
    const uint32_t meta = g.meta(id);
    if ((meta & kMetaPublished) == 0 || (meta & kMetaDeleted) != 0) continue;
    if (!filter.Matches(g, id)) continue;
    const float d = use_raw ? g.f32.Distance(raw_query, reinterpret_cast<const uint8_t*>(g.raw(id)))
                            : codec.Distance(q, g.code(id));
    ++s.distance_count;
    top.Push(d, g.label(id));
  }
  top.TakeSorted(out);
  RemoveDuplicateLabels(out);
}

// Writes the k nearest of the layer-0 results, nearest first (re-scored from float32 first when
// asked). Without re-ranking only the k winners' labels are loaded (each is a cache miss).
void CollectResults(const Graph& g, const QueryCode& raw_query, bool rerank, size_t k, SearchScratch& s,
                    std::vector<Neighbor>* out) {
  out->clear();
  std::vector<Candidate>& results = s.results;
  if (rerank) {
    // Only the nearest by code distance are worth a float32 load (a cache miss each): the k
    // nearest are among them whenever the codes rank well enough, which the pool's size
    // leaves ample room for (glove-100 int8: the true 10 nearest are always within the 20
    // nearest by code). Without the cut the re-rank grows with ef, and with early termination
    // (which wants a wider beam) it cancelled the saving.
    const size_t pool = std::max(kRerankPerResult * k, kMinRerankPool);
    if (results.size() > pool) {
      const auto last = results.begin() + static_cast<ptrdiff_t>(pool - 1);
      std::nth_element(results.begin(), last, results.end(), ByDistance{});
      results.resize(pool);
    }
    // The float32 copies are scattered cache misses, all known up front: keep a few in flight.
    const size_t raw_bytes = g.dim * sizeof(float);
    const size_t n = results.size();
    for (size_t i = 0; i < std::min(n, kPrefetchAhead); ++i) {
      PrefetchCode(reinterpret_cast<const uint8_t*>(g.raw(results[i].id)), raw_bytes);
    }
    for (size_t i = 0; i < n; ++i) {
      if (i + kPrefetchAhead < n) {
        PrefetchCode(reinterpret_cast<const uint8_t*>(g.raw(results[i + kPrefetchAhead].id)), raw_bytes);
      }
      Candidate& c = results[i];
      c.distance = g.f32.Distance(raw_query, reinterpret_cast<const uint8_t*>(g.raw(c.id)));
    }
    s.distance_count += n;
  }
  size_t keep = results.size();
  if (results.size() > k) {
    // The k nearest first, plus every candidate tied with the k-th (ties break by label below);
    // the rest stays behind them (swapped, not dropped) for the duplicate case.
    std::nth_element(results.begin(), results.begin() + static_cast<ptrdiff_t>(k - 1), results.end(), ByDistance{});
    const float kth = results[k - 1].distance;
    keep = k;
    for (size_t i = k; i < results.size(); ++i) {
      if (results[i].distance <= kth) std::swap(results[keep++], results[i]);
    }
  }
  for (size_t i = 0; i < keep; ++i) out->push_back({results[i].distance, g.label(results[i].id)});
  std::sort(out->begin(), out->end());
  if (out->size() > k) out->resize(k);
  if (HasDuplicateLabel(*out)) {
    // Rare (a concurrent replace): redo from every candidate, so that k distinct labels remain.
    out->clear();
    for (const Candidate& c : results) out->push_back({c.distance, g.label(c.id)});
    std::sort(out->begin(), out->end());
    RemoveDuplicateLabels(out);
    if (out->size() > k) out->resize(k);
  }
}

template <class Codec>
void SearchWithCodec(const Graph& g, const Codec& codec, const float* query, const QueryOptions& opts, SearchScratch& s,
                     std::vector<Neighbor>* out, QueryStats* stats) {
  out->clear();
  s.distance_count = 0;
  codec.Prepare(query, &s.query);
  const bool rerank = opts.rerank && g.keep_raw;
  if (rerank) g.f32.Prepare(query, &s.pair_query);
  const size_t ef = std::max(opts.ef, opts.k);

  const UserFilter filter{opts.filter, opts.id_filter};
  const bool filtered = opts.filter != nullptr || opts.id_filter != nullptr;
  bool exact = filtered && opts.strategy == FilterStrategy::kExact;
  if (filtered && opts.strategy == FilterStrategy::kAuto) {
    const double n = static_cast<double>(g.live_count.load(std::memory_order_relaxed));
    const double selectivity = EstimateSelectivity(g, filter);
    const double exact_cost =
        static_cast<double>(g.num_slots.load()) * kFilterCallCost + selectivity * n * kScanDistanceCost;
    const double graph_cost = kWalkDistancesPerEf * static_cast<double>(ef) / std::max(selectivity, 1e-9);
    exact = exact_cost <= graph_cost;
  }
  const uint64_t entry = g.entry.load(std::memory_order_acquire);
  const uint32_t entry_id = static_cast<uint32_t>(entry);
  if (!exact && entry_id != kNoNode) {
    uint32_t cur = entry_id;
    float cur_distance = codec.Distance(s.query, g.code(cur));
    ++s.distance_count;
    GreedyDescend(g, codec, s.query, static_cast<int>(entry >> 32), 0, &cur, &cur_distance, s);
    const EarlyStop stop{opts.k, opts.patience, opts.reach,
                         opts.reach != 0.0f ? ReachShift(g.metric, query, g.dim, g.ip_phi) : 0.0f};
    if (filtered) {
      SearchLayer(g, codec, s.query, cur, cur_distance, 0, ef, filter, s, stop);
    } else {
      SearchLayer(g, codec, s.query, cur, cur_distance, 0, ef, LiveFilter{}, s, stop);
    }
    CollectResults(g, s.pair_query, rerank, opts.k, s, out);
    // The graph walk may miss matches of a selective filter (or all of them, if tombstones cut
    // the walk short): fall back to the exact scan so that k results come whenever k match.
    exact = out->size() < opts.k && out->size() < g.live_count.load(std::memory_order_relaxed);
  }
  if (exact) {
    ExactScan(g, codec, s.query, s.pair_query, rerank, filter, opts.k, s, out);
    ++stats->exact_scans;
  }
  stats->distance_computations += s.distance_count;
}

}  // namespace

template <class Codec>
void GreedyDescend(const Graph& g, const Codec& codec, const QueryCode& q, int from_level, int to_level,
                   uint32_t* entry, float* entry_distance, SearchScratch& s) {
  const auto score = codec.Bind(q);
  uint32_t cur = *entry;
  float cur_distance = *entry_distance;
  for (int level = from_level; level > to_level; --level) {
    for (bool changed = true; changed;) {
      changed = false;
      uint32_t links[kLinkBuffer];
      const uint32_t n = g.ReadLinks(cur, level, links);
      for (uint32_t i = 0; i < n; ++i) Prefetch(CodeOf<Codec>(g, links[i]));
      for (uint32_t i = 0; i < n; ++i) {
        const uint32_t id = links[i];
        const float d = score(CodeOf<Codec>(g, id));
        ++s.distance_count;
        if (d < cur_distance) {
          cur_distance = d;
          cur = id;
          changed = true;
        }
      }
    }
  }
  *entry = cur;
  *entry_distance = cur_distance;
}

template <class Codec, class Filter>
void SearchLayer(const Graph& g, const Codec& codec, const QueryCode& q, uint32_t entry, float entry_distance,
                 int level, size_t ef, const Filter& filter, SearchScratch& s, EarlyStop stop) {
  std::vector<Candidate>& candidates = s.candidates;
  std::vector<Candidate>& results = s.results;
  // Locals, not members read through references: they stay in registers across kernel calls.
  const auto score = codec.Bind(q);
  const uint8_t* const codes = CodeSpace<Codec>::Base(g);
  const size_t stride = CodeSpace<Codec>::Stride(g);
  const size_t code_bytes = CodeSpace<Codec>::Bytes(g);
  size_t distances = 0;
  candidates.clear();
  results.clear();
  s.NewVisit(g.num_slots.load(std::memory_order_acquire));
  s.TestAndSet(entry);  // sizes the table when the entry is newer than the search
  uint64_t* visited = s.visited.data();
  size_t visited_words = s.visited.size();
  // Invariant: a list holds at most m0 <= 2 * kMaxM links (ReadList caps the count).
  uint32_t todo_ids[2 * HnswOptions::kMaxM];
  uint32_t links[kLinkBuffer];
  const uint32_t max_links = g.max_links(level);
  const uint32_t link_bytes = g.layout.link_bytes;
  candidates.push_back({entry_distance, entry});
  float bound = std::numeric_limits<float>::infinity();
  if (filter.Accept(g, entry)) {
    results.push_back({entry_distance, entry});
    bound = entry_distance;
  }
  TopK& nearest = s.nearest;  // early termination: the k nearest accepted nodes
  const bool track_nearest = stop.patience != 0 || stop.reach != 0.0f;
  nearest.Reset(track_nearest ? stop.k : 0);
  size_t stale = 0;  // expansions since they last changed
  while (!candidates.empty()) {
    const Candidate current = candidates.front();
    if (current.distance > bound && results.size() >= ef) break;
    // Until k are accepted the threshold is infinite, and so is the limit.
    if (stop.reach != 0.0f &&
        current.distance + stop.shift > stop.reach * std::max(0.0f, nearest.threshold() + stop.shift)) {
      break;
    }
    if (stop.patience != 0) {
      if (stale >= stop.patience && nearest.size() >= stop.k) break;
      ++stale;
    }
    std::pop_heap(candidates.begin(), candidates.end(), NearerFirst);
    candidates.pop_back();
    // The next node to expand is usually the new top: load its list while scoring this one's.
    const uint32_t* next_list = nullptr;
    if (!candidates.empty()) {
      next_list = g.links(candidates.front().id, level);
      const uint8_t* next = reinterpret_cast<const uint8_t*>(next_list);
      Prefetch(next);  // head + 2m links: 4 + 6m bytes (24-bit), up to 3 lines at m = 16
      Prefetch(next + 64);
      Prefetch(next + 128);
    }

    // Gather the unvisited neighbours first and prefetch their blocks, so the loads overlap
    // with the distance computations of the ones before them. One pass decodes the links and
    // marks the unvisited ones; the list head is checked after it (see ReadList).
    const uint32_t* list = g.links(current.id, level);
    const uint32_t head = LoadWord(list);
    const uint32_t n = std::min(head & kListCountMask, max_links);
    size_t todo = 0;
    // Room for every word this expansion can dirty (twice: a retried pass), so the loop appends
    // without a check.
    if (s.dirty.size() < s.dirty_count + 2 * n) s.dirty.resize(2 * (s.dirty_count + 2 * n));
    uint32_t* const dirty = s.dirty.data();
    size_t dirtied = s.dirty_count;
    // Inlined by force: GCC otherwise calls it out of line from each unrolled decode step.
    const auto visit = [&](uint32_t id) __attribute__((always_inline)) {
      if (id / 64 >= visited_words) {  // a node newer than this search: grow the table (rare)
        if (id >= g.num_slots.load(std::memory_order_acquire)) return;  // torn: retried below
        s.Grow(id);
        visited = s.visited.data();
        visited_words = s.visited.size();
      }
      uint64_t& word = visited[id / 64];
      const uint64_t bit = uint64_t{1} << (id % 64);
      if ((word & bit) != 0) return;
      dirty[dirtied] = id / 64;
      dirtied += word == 0;
      word |= bit;
      todo_ids[todo++] = id;
    };
    ForEachLink(list + 1, n, link_bytes, visit);
    if (!g.ListUnchanged(list, head)) [[unlikely]] {
      // A writer rewrote the list meanwhile: undo this pass, then read one whole state.
      for (size_t j = 0; j < todo; ++j) visited[todo_ids[j] / 64] &= ~(uint64_t{1} << (todo_ids[j] % 64));
      todo = 0;
      const uint32_t whole = g.ReadList(list, level, links);
      for (uint32_t i = 0; i < whole; ++i) visit(links[i]);
    }
    s.dirty_count = dirtied;
    const size_t ahead = std::min<size_t>(todo, kPrefetchAhead);
    for (size_t j = 0; j < ahead; ++j) PrefetchCode(codes + size_t{todo_ids[j]} * stride, code_bytes);
    distances += todo;
    // Past the last code of this expansion to prefetch, start on the next one's: the unvisited
    // neighbours of the predicted next node, one per step, so that its first codes are in
    // flight before its expansion begins (otherwise every expansion starts with a full miss).
    uint32_t next_pos = 0, next_n = 0;
    bool next_read = false;
    for (size_t j = 0; j < todo; ++j) {
      const uint32_t id = todo_ids[j];
      if (j + kPrefetchAhead < todo) {
        PrefetchCode(codes + size_t{todo_ids[j + kPrefetchAhead]} * stride, code_bytes);
      } else if (next_list != nullptr) {
        if (!next_read) {
          next_n = std::min(LoadWord(next_list) & kListCountMask, max_links);
          next_read = true;
        }
        while (next_pos < next_n) {
          // Unchecked: a torn link here only misdirects a prefetch.
          const uint32_t nid = PeekLink(next_list + 1, next_pos++, link_bytes);
          if (nid / 64 < visited_words && (visited[nid / 64] & (uint64_t{1} << (nid % 64))) == 0) {
            PrefetchCode(codes + size_t{nid} * stride, code_bytes);
            break;
          }
        }
      }
      const float d = score(codes + size_t{id} * stride);
      if (results.size() < ef || d < bound) {
        candidates.push_back({d, id});
        std::push_heap(candidates.begin(), candidates.end(), NearerFirst);
        if (filter.Accept(g, id)) {
          if (results.size() < ef) {
            results.push_back({d, id});
            std::push_heap(results.begin(), results.end(), FartherFirst);
          } else {
            ReplaceFarthest(results, {d, id});
          }
          bound = results.front().distance;
          // The threshold test first, inline: most nodes do not enter, and GCC keeps Push a call
          // (0.75% of the walk's samples on glove int8 at ef 240 without the test).
          if (track_nearest && d <= nearest.threshold() && nearest.Push(d, id)) stale = 0;
        }
      }
    }
  }
  s.distance_count += distances;
}

void SearchOne(const Graph& g, const float* query, const QueryOptions& opts, SearchScratch& s,
               std::vector<Neighbor>* out, QueryStats* stats) {
  ReaderScope reader(g.gate);
  WithCodec(g, [&](const auto& codec) { SearchWithCodec(g, codec, query, opts, s, out, stats); });
}

namespace {

template <class Codec>
void ScoreSlots(const Graph& g, const Codec& codec, const QueryCode& q, std::span<const uint32_t> slots,
                const UserFilter& filter, size_t k, SearchScratch& s, std::vector<Neighbor>* out) {
  TopK top(k);
  const uint32_t num_slots = g.num_slots.load(std::memory_order_acquire);
  const size_t bytes = CodeSpace<Codec>::Bytes(g);
  const size_t n = slots.size();
  const auto valid = [&](size_t i) { return slots[i] < num_slots; };
  for (size_t i = 0; i < std::min(n, kPrefetchAhead); ++i) {
    if (valid(i)) PrefetchCode(CodeOf<Codec>(g, slots[i]), bytes);
  }
  for (size_t i = 0; i < n; ++i) {
    if (i + kPrefetchAhead < n && valid(i + kPrefetchAhead)) {
      PrefetchCode(CodeOf<Codec>(g, slots[i + kPrefetchAhead]), bytes);
    }
    if (!valid(i)) continue;
    const uint32_t id = slots[i];
    const uint32_t meta = g.meta(id);
    if ((meta & kMetaPublished) == 0 || (meta & kMetaDeleted) != 0 || !filter.Matches(g, id)) continue;
    ++s.distance_count;
    top.Push(codec.Distance(q, CodeOf<Codec>(g, id)), g.label(id));
  }
  top.TakeSorted(out);
  RemoveDuplicateLabels(out);
}

}  // namespace

void SearchSlots(const Graph& g, const float* query, std::span<const uint32_t> slots, const QueryOptions& opts,
                 SearchScratch& s, std::vector<Neighbor>* out, QueryStats* stats) {
  ReaderScope reader(g.gate);
  out->clear();
  s.distance_count = 0;
  const UserFilter filter{opts.filter, opts.id_filter};
  if (g.keep_raw) {
    // Exact means exact: score the float32 copies rather than the codes.
    const RawF32Codec raw(g.f32);
    raw.Prepare(query, &s.pair_query);
    ScoreSlots(g, raw, s.pair_query, slots, filter, opts.k, s, out);
  } else {
    WithCodec(g, [&](const auto& codec) {
      codec.Prepare(query, &s.query);
      ScoreSlots(g, codec, s.query, slots, filter, opts.k, s, out);
    });
  }
  stats->distance_computations += s.distance_count;
  ++stats->exact_scans;
}

// The build (hnsw_build.cc) walks the graph with every codec and the live filter.
#define VECDEX_HNSW_INSTANTIATE(CODEC)                                                                             \
  template void GreedyDescend<CODEC>(const Graph&, const CODEC&, const QueryCode&, int, int, uint32_t*, float*,    \
                                     SearchScratch&);                                                              \
  template void SearchLayer<CODEC, LiveFilter>(const Graph&, const CODEC&, const QueryCode&, uint32_t, float, int, \
                                               size_t, const LiveFilter&, SearchScratch&, EarlyStop);              \
  template void SearchLayer<CODEC, AnyFilter>(const Graph&, const CODEC&, const QueryCode&, uint32_t, float, int,  \
                                              size_t, const AnyFilter&, SearchScratch&, EarlyStop);
VECDEX_HNSW_INSTANTIATE(F32Codec)
VECDEX_HNSW_INSTANTIATE(F16Codec)
VECDEX_HNSW_INSTANTIATE(Int8Codec)
VECDEX_HNSW_INSTANTIATE(RawF32Codec)
VECDEX_HNSW_INSTANTIATE(AugmentedCodec<F32Codec>)
VECDEX_HNSW_INSTANTIATE(AugmentedCodec<F16Codec>)
VECDEX_HNSW_INSTANTIATE(AugmentedCodec<Int8Codec>)
#undef VECDEX_HNSW_INSTANTIATE

}  // namespace vecdex::hnsw
