// Insertion (search per layer, neighbour-selection heuristic, reverse links with pruning),
// removal (tombstones) and consolidation of tombstones (link repair, then slot reuse).
#include <algorithm>
#include <cstring>

#include "common/parallel.h"
#include "index/hnsw/hnsw_algo.h"

namespace vecdex::hnsw {
namespace {

bool IsDeleted(const Graph& g, uint32_t id) { return (g.meta(id) & kMetaDeleted) != 0; }

// Nearest first; ties by id, so that a one-thread build is deterministic.
struct NearerThenId {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.distance < b.distance || (a.distance == b.distance && a.id < b.id);
  }
};
constexpr NearerThenId NearerThen{};

// The heuristic of the HNSW paper (algorithm 4): walking `sorted` nearest first, keep a
// candidate only if it is nearer to the base than to every neighbour already kept, so the
// links spread in different directions. Tombstones are skipped unless nothing else is left,
// which keeps a node inserted among tombstones reachable.
// With `keep_existing`, the ids already in *out stay and candidates are checked against them.
template <class Codec>
void SelectNeighbours(const Graph& g, const Codec& codec, const std::vector<Candidate>& sorted, size_t max_out,
                      SearchScratch& s, std::vector<uint32_t>* out, bool keep_existing = false) {
  if (!keep_existing) out->clear();
  for (const Candidate& c : sorted) {
    if (out->size() >= max_out) break;
    if (IsDeleted(g, c.id)) continue;
    bool keep = true;
    if (!out->empty()) {
      codec.PrepareCode(CodeOf<Codec>(g, c.id), &s.pair_query);
      for (uint32_t kept : *out) {
        const float d = codec.Distance(s.pair_query, CodeOf<Codec>(g, kept));
        if (d < c.distance) {
          keep = false;
          break;
        }
      }
    }
    if (keep) out->push_back(c.id);
  }
  if (out->empty()) {
    for (size_t i = 0; i < sorted.size() && i < max_out; ++i) out->push_back(sorted[i].id);
  }
}

// Scores `ids` from node `base` into s.prune (sorted nearest first), then keeps the heuristic's
// choice of at most max_links(level) in s.selected.
template <class Codec>
void PruneFrom(const Graph& g, const Codec& codec, uint32_t base, const std::vector<uint32_t>& ids, int level,
               SearchScratch& s) {
  codec.PrepareCode(CodeOf<Codec>(g, base), &s.node_query);
  s.prune.clear();
  for (uint32_t id : ids) s.prune.push_back({codec.Distance(s.node_query, CodeOf<Codec>(g, id)), id});
  std::sort(s.prune.begin(), s.prune.end(), NearerThen);
  SelectNeighbours(g, codec, s.prune, g.max_links(level), s, &s.selected);
}

// Adds `id` to the list of `neighbour` at `level`, pruning with the heuristic when full.
template <class Codec>
void AddReverseLink(Graph& g, const Codec& codec, uint32_t neighbour, uint32_t id, int level, SearchScratch& s,
                    std::vector<uint32_t>* ids) {
  if (neighbour == id) return;
  LinkGuard guard(g.locks, neighbour);
  uint32_t* list = g.links(neighbour, level);
  uint32_t links[kLinkBuffer];
  const uint32_t n = g.ReadList(list, level, links);
  if (std::find(links, links + n, id) != links + n) return;
  if (n < g.max_links(level)) {
    links[n] = id;
    g.WriteList(list, links, n + 1);
    return;
  }
  ids->assign(links, links + n);
  ids->push_back(id);
  PruneFrom(g, codec, neighbour, *ids, level, s);
  g.WriteList(list, s.selected.data(), static_cast<uint32_t>(s.selected.size()));
}

// Reserves a slot for `label` (reusing a freed one when possible) and replaces a live node of
// the same label. Returns the slot and its level.
Result<std::pair<uint32_t, int>> ReserveSlot(Graph& g, Label label) {
  std::lock_guard<std::mutex> lock(g.map_mu);
  uint32_t id;
  if (!g.free_slots.empty()) {
    id = g.free_slots.back();
    g.free_slots.pop_back();
  } else {
    const uint32_t n = g.num_slots.load(std::memory_order_relaxed);
    VECDEX_RETURN_IF_ERROR(g.EnsureSlots(static_cast<size_t>(n) + 1));
    id = n;
    // Invariant: a fresh slot's meta is 0 (unpublished) until InsertOne publishes it, so scans
    // that read num_slots skip it.
    g.num_slots.store(n + 1, std::memory_order_release);
  }
  // The slot is unreachable until published: its label may be written now (the map reads it).
  g.label_array()[id] = label;
  const uint32_t old = g.slot_of.Put(id, g.label_array());
  if (old != kNoNode) {
    // Replace: the old node becomes a tombstone (consolidation repairs the links around it).
    g.meta_ref(old).fetch_or(kMetaDeleted, std::memory_order_acq_rel);
    g.live_count.fetch_sub(1);
    g.deleted_count.fetch_add(1);
  }
  return std::make_pair(id, g.DrawLevel());
}

// Writes the block of an unreachable slot and publishes it.
void WriteNode(Graph& g, uint32_t id, int level, const float* vector) {
  WithCodec(g, [&](const auto& codec) {
    codec.Encode(vector, g.mutable_code(id));
    if (g.metric == Metric::kInnerProduct) {
      const float aux = AugmentedCodec<F32Codec>::Aux(vector, g.dim, g.ip_phi * g.ip_phi);
      std::memcpy(g.mutable_code(id) + codec.code_bytes(), &aux, sizeof(aux));
    }
  });
  if (g.keep_raw) std::memcpy(const_cast<float*>(g.raw(id)), vector, g.dim * sizeof(float));
  // Invariant: a fresh or freed slot has no upper array (ConsolidateDeletes releases it).
  uint32_t*& upper = g.upper_ptrs()[id];
  upper = nullptr;
  if (level > 0) {
    const size_t words = static_cast<size_t>(level) * g.layout.upper_words;
    upper = new uint32_t[words]();
    g.upper_bytes.fetch_add(words * sizeof(uint32_t));
  }
  std::atomic_ref<uint32_t>(*g.links0(id)).store(0, std::memory_order_relaxed);
  // Invariant: the meta of a fresh or freed slot is 0. fetch_or keeps a deleted bit that a
  // concurrent Remove (or a replace of the same label) set before this node was published.
  g.meta_ref(id).fetch_or(static_cast<uint32_t>(level) | kMetaPublished, std::memory_order_acq_rel);
}

template <class Codec>
void LinkNode(Graph& g, const Codec& codec, uint32_t id, int level, const float* vector, SearchScratch& s) {
  const uint64_t entry = g.entry.load(std::memory_order_acquire);
  uint32_t cur = static_cast<uint32_t>(entry);
  const int top = static_cast<int>(entry >> 32);
  codec.Prepare(vector, &s.query);
  float cur_distance = codec.Distance(s.query, CodeOf<Codec>(g, cur));
  GreedyDescend(g, codec, s.query, top, level, &cur, &cur_distance, s);
  std::vector<uint32_t> ids;
  for (int l = std::min(level, top); l >= 0; --l) {
    SearchLayer(g, codec, s.query, cur, cur_distance, l, g.options.ef_construction, AnyFilter{}, s);
    s.layer.clear();
    for (const Candidate& c : s.results) {
      if (c.id != id) s.layer.push_back(c);  // a concurrent insert may already link to us
    }
    std::sort(s.layer.begin(), s.layer.end(), NearerThen);
    SelectNeighbours(g, codec, s.layer, g.layout.m, s, &s.selected);
    const std::vector<uint32_t> chosen = s.selected;
    {
      // `id` is already reachable on the layers above, where it was linked first, so concurrent
      // inserts may have added themselves to this list meanwhile. Overwriting the list would
      // drop those reverse links and could leave their nodes with no way in: merge instead,
      // pruning with the heuristic when the union overflows. (A one-thread build never gets
      // here with a non-empty list.)
      LinkGuard guard(g.locks, id);
      uint32_t* list = g.links(id, l);
      uint32_t links[kLinkBuffer];
      const uint32_t n = g.ReadList(list, l, links);
      ids.assign(chosen.begin(), chosen.end());
      for (uint32_t i = 0; i < n; ++i) {
        if (std::find(ids.begin(), ids.end(), links[i]) == ids.end()) ids.push_back(links[i]);
      }
      if (ids.size() <= g.max_links(l)) {
        g.WriteList(list, ids.data(), static_cast<uint32_t>(ids.size()));
      } else {
        PruneFrom(g, codec, id, ids, l, s);
        g.WriteList(list, s.selected.data(), static_cast<uint32_t>(s.selected.size()));
      }
    }
    for (uint32_t neighbour : chosen) AddReverseLink(g, codec, neighbour, id, l, s, &ids);
    if (!s.layer.empty()) {
      cur = s.layer.front().id;
      cur_distance = s.layer.front().distance;
    }
  }
  if (level > top) {
    std::lock_guard<std::mutex> lock(g.entry_mu);
    if (level > static_cast<int>(g.entry.load() >> 32)) g.entry.store(Graph::PackEntry(id, level));
  }
}

}  // namespace

Status InsertOne(Graph& g, Label label, const float* vector, SearchScratch& s) {
  VECDEX_ASSIGN_OR_RETURN(auto slot, ReserveSlot(g, label));
  // Plain copies, not a structured binding: lambdas below capture them (clang 14 cannot capture
  // bindings, and the fuzz build uses clang).
  const auto id = slot.first;
  const auto level = slot.second;
  WriteNode(g, id, level, vector);
  if (g.entry_id() == kNoNode) {  // only the first node of a graph takes the lock here
    std::lock_guard<std::mutex> lock(g.entry_mu);
    if (g.entry_id() == kNoNode) {
      g.entry.store(Graph::PackEntry(id, level), std::memory_order_release);
      g.live_count.fetch_add(1);
      return Status::Ok();
    }
  }
  {
    // Inserts are readers too: they walk nodes that a consolidation may be about to free.
    ReaderScope reader(g.gate);
    WithBuildCodec(g, [&](const auto& codec) { LinkNode(g, codec, id, level, vector, s); });
  }
  g.live_count.fetch_add(1);
  return Status::Ok();
}

bool RemoveOne(Graph& g, Label label) {
  std::lock_guard<std::mutex> lock(g.map_mu);
  const uint32_t id = g.slot_of.Erase(label, g.label_array());
  if (id == kNoNode) return false;
  g.meta_ref(id).fetch_or(kMetaDeleted, std::memory_order_acq_rel);
  g.live_count.fetch_sub(1);
  g.deleted_count.fetch_add(1);
  return true;
}

namespace {

// Rewrites the lists of live node `p` that name a tombstone. Caller: ConsolidateDeletes.
template <class Codec>
void RepairNode(Graph& g, const Codec& codec, uint32_t p, const std::vector<uint8_t>& dead, SearchScratch& s,
                std::vector<uint32_t>* ids) {
  const int top = g.level(p);
  for (int l = 0; l <= top; ++l) {
    uint32_t* list = g.links(p, l);
    uint32_t links[kLinkBuffer];
    const uint32_t n = g.ReadList(list, l, links);
    bool touched = false;
    ids->clear();
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t link = links[i];
      if (!dead[link]) {
        ids->push_back(link);
        continue;
      }
      touched = true;
      // Invariant: tombstone lists are never rewritten during a consolidation, so this read is
      // stable; a tombstone linked at layer l has level >= l.
      uint32_t dead_links[kLinkBuffer];
      const uint32_t dn = g.ReadLinks(link, l, dead_links);
      for (uint32_t j = 0; j < dn; ++j) {
        const uint32_t second = dead_links[j];
        if (second != p && !dead[second]) ids->push_back(second);
      }
    }
    if (!touched) continue;
    // The surviving links stay (pruning them with the heuristic again would leave shorter
    // lists than the build's, and cost recall); the freed places go to the tombstones'
    // neighbours that the heuristic accepts next to them.
    s.selected.clear();
    for (uint32_t i = 0; i < n; ++i) {
      if (!dead[links[i]]) s.selected.push_back(links[i]);
    }
    std::sort(ids->begin(), ids->end());
    ids->erase(std::unique(ids->begin(), ids->end()), ids->end());
    codec.PrepareCode(CodeOf<Codec>(g, p), &s.node_query);
    s.prune.clear();
    for (uint32_t id : *ids) {
      if (std::find(s.selected.begin(), s.selected.end(), id) != s.selected.end()) continue;
      s.prune.push_back({codec.Distance(s.node_query, CodeOf<Codec>(g, id)), id});
    }
    std::sort(s.prune.begin(), s.prune.end(), NearerThen);
    SelectNeighbours(g, codec, s.prune, g.max_links(l), s, &s.selected, /*keep_existing=*/true);
    // Fill what is left with the nearest rejected candidates: the tombstones took in-links
    // with them, and full lists keep the survivors reachable.
    for (const Candidate& c : s.prune) {
      if (s.selected.size() >= g.max_links(l)) break;
      if (std::find(s.selected.begin(), s.selected.end(), c.id) == s.selected.end()) s.selected.push_back(c.id);
    }
    LinkGuard guard(g.locks, p);
    g.WriteList(list, s.selected.data(), static_cast<uint32_t>(s.selected.size()));
  }
}

// Picks a live node of the highest level as the entry (kNoNode when none is left).
void ReplaceEntryIfDead(Graph& g, const std::vector<uint8_t>& dead) {
  const uint32_t entry = g.entry_id();
  if (entry == kNoNode || !dead[entry]) return;
  uint32_t best = kNoNode;
  int best_level = -1;
  for (uint32_t id = 0; id < dead.size(); ++id) {
    const uint32_t meta = g.meta(id);
    if (dead[id] || (meta & kMetaPublished) == 0) continue;
    const int level = static_cast<int>(meta & kMetaLevelMask);
    if (level > best_level) {
      best_level = level;
      best = id;
    }
  }
  std::lock_guard<std::mutex> lock(g.entry_mu);
  g.entry.store(Graph::PackEntry(best, std::max(best_level, 0)), std::memory_order_release);
}

}  // namespace

void ConsolidateDeletes(Graph& g, size_t threads) {
  const uint32_t slots = g.num_slots.load();
  std::vector<uint8_t> dead(slots, 0);
  size_t dead_count = 0;
  for (uint32_t id = 0; id < slots; ++id) {
    const uint32_t meta = g.meta(id);
    dead[id] = (meta & kMetaPublished) != 0 && (meta & kMetaDeleted) != 0;
    dead_count += dead[id];
  }
  if (dead_count == 0) return;
  ReplaceEntryIfDead(g, dead);
  ParallelFor(slots, 256, threads, [&](size_t begin, size_t end, size_t) {
    ScratchLease s(g.scratch);
    std::vector<uint32_t> ids;
    WithBuildCodec(g, [&](const auto& codec) {
      for (size_t p = begin; p < end; ++p) {
        const uint32_t meta = g.meta(static_cast<uint32_t>(p));
        if (dead[p] || (meta & kMetaPublished) == 0) continue;
        RepairNode(g, codec, static_cast<uint32_t>(p), dead, *s, &ids);
      }
    });
  });
  // Invariant: from here no live list and no entry names a tombstone, so only searches that
  // started before this point can reach one. Wait for them, then free the slots.
  g.gate.WaitForReaders();
  std::lock_guard<std::mutex> lock(g.map_mu);
  for (uint32_t id = 0; id < slots; ++id) {
    if (!dead[id]) continue;
    const size_t level = g.meta(id) & kMetaLevelMask;
    g.meta_ref(id).store(0, std::memory_order_release);
    uint32_t*& upper = g.upper_ptrs()[id];
    delete[] upper;
    upper = nullptr;
    g.upper_bytes.fetch_sub(level * g.layout.upper_words * sizeof(uint32_t));
    g.free_slots.push_back(id);
  }
  g.deleted_count.fetch_sub(dead_count);
}

}  // namespace vecdex::hnsw
