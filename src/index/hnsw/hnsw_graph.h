// Node storage and shared state of one HNSW graph.
//
// Layout. Every slot (internal id) owns one fixed-size block in a contiguous region:
//   [layer-0 list][u32 meta][code bytes (codec)]    (stride: 4-aligned)
// so the links of layer 0 sit next to the code a search scores right after reading them. The
// region is reserved once (address space, PROT_NONE) and committed page-wise as slots are added,
// so a block never moves: a search holds plain pointers while inserts grow the graph, and no lock
// is needed for growth. Labels (u64), upper-layer link pointers and optional float32 copies (for
// re-ranking) live in parallel regions indexed by slot. A node of level L > 0 owns one separately
// allocated array of L upper lists.
//
// A link list is [u32 head][links, link_bytes each, packed into whole u32 words]. Links are
// 24-bit slot numbers when the graph can hold at most 2^24 slots (the default), 32-bit otherwise:
// at M = 16 the 24-bit layer-0 list is 100 bytes instead of 132, 0.87x the block of an f32 node
// of dim 100 and 0.84x an int8 one. Head: bits 0-8 the count, bits 9-31 a sequence number
// that is odd while a writer rewrites the list (a seqlock: a 24-bit link straddles words, so a
// reader must never mix an old word with a new one).
//
// Meta word: bits 0-7 level, bit 8 published (the node's block is complete), bit 9 deleted.
//
// Concurrency (who may touch what):
//   - Link lists are written only under the node's stripe lock (LinkLocks), by WriteList:
//     head made odd, words stored (release), head stored even with the new count (release).
//     Readers take no lock: ReadList loads the head, the words and the head again (acquire) and
//     retries when the head was odd or changed, so a reader always gets one whole state of the
//     list. Invariant: every link of such a state names a published node.
//   - A slot's code, label, level and upper array are written only while the slot is unreachable
//     (fresh, or freed after a grace period, see EpochGate) and before its meta is published.
//   - The entry point (id, level) is one atomic word, changed under entry_mu.
//   - The deleted bit is set atomically by Remove; searches skip deleted nodes in results but
//     still walk through them.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/top_k.h"
#include "index/hnsw/vector_codes.h"
#include "vecdex/status.h"
#include "vecdex/types.h"

namespace vecdex::hnsw {

// Slot number of a node inside one graph; never confused with a Label.
enum class InternalId : uint32_t {};
constexpr uint32_t ToRaw(InternalId id) { return static_cast<uint32_t>(id); }
constexpr InternalId ToId(uint32_t raw) { return static_cast<InternalId>(raw); }
inline constexpr uint32_t kNoNode = 0xFFFFFFFFu;

// Index parameters (spec options). Validate() explains what is wrong.
struct HnswOptions {
  static constexpr size_t kMaxM = 128;
  static constexpr size_t kMaxLevelCap = 32;
  static constexpr size_t kMaxPatience = 1000;
  static constexpr size_t kMaxSlack = 1000;
  size_t m = 16;                 // links per node on layers >= 1; layer 0 keeps 2m
  size_t ef_construction = 200;  // beam width while inserting
  size_t ef_search = 100;        // default beam width of a query (SearchParams::ef overrides)
  // Early termination (0 = off): a query stops once its k nearest results have not changed
  // during patience% x ef consecutive expansions (see QueryOptions::patience).
  size_t patience = 0;
  // Early termination (0 = off): a query stops once its nearest unexpanded candidate is more
  // than slack% farther (squared distance) than its k-th nearest result (see EarlyStop::reach).
  // Caps the recall any ef reaches.
  size_t slack = 0;
  Scalar storage = Scalar::kF32;
  bool rerank = false;       // f16/int8: keep float32 beside the codes and re-score results
  uint64_t seed = 100;       // level generator
  size_t max_level = 16;     // cap on the number of layers above 0
  size_t max_elements = 0;   // address space hint (slots); 0 = automatic
  size_t build_threads = 0;  // batch Add workers; 0 = all cores; 1 = deterministic build

  Status Validate() const;
  // The spec string that rebuilds an equivalent empty index.
  std::string ToSpec() const;
};

// Slots a graph with 24-bit links can hold (ids 0 .. 2^24 - 1).
inline constexpr size_t kMaxSlots24 = size_t{1} << 24;
// Link width of a graph created with `max_elements` (0 = the default reservation): 3 bytes
// unless more than kMaxSlots24 slots are asked for.
inline uint32_t LinkBytesFor(size_t max_elements) { return max_elements > kMaxSlots24 ? 4 : 3; }

struct BlockLayout {
  uint32_t m = 0;           // max links per upper list
  uint32_t m0 = 0;          // max links on layer 0
  uint32_t link_bytes = 4;  // 3 (24-bit slot numbers) or 4
  uint32_t list0_words = 0;  // u32 words of the layer-0 list, head included
  uint32_t upper_words = 0;  // u32 words of one upper-layer list, head included
  uint32_t code_bytes = 0;
  uint32_t meta_offset = 0;  // bytes
  uint32_t code_offset = 0;
  uint32_t stride = 0;  // block size, multiple of 4
  static BlockLayout Make(size_t m, size_t code_bytes, uint32_t link_bytes);
};

// Link-list head (see the file comment).
inline constexpr uint32_t kListCountMask = 0x1FFu;  // counts up to 2 * kMaxM = 256
inline constexpr uint32_t kListWriting = 1u << 9;   // lowest sequence bit: odd = being rewritten
// Room for a decoded list (at most m0 <= 2 * kMaxM links) or for the packed words of one.
inline constexpr size_t kLinkBuffer = 2 * HnswOptions::kMaxM;

inline constexpr uint32_t kMetaLevelMask = 0xFFu;
inline constexpr uint32_t kMetaPublished = 1u << 8;
inline constexpr uint32_t kMetaDeleted = 1u << 9;

// Address space reserved once and committed as it grows; never moves. Or a read-only view of
// memory owned elsewhere (a mapped file).
class Region {
 public:
  Region() = default;
  ~Region();
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;

  // Reserves up to `max_bytes` (retrying smaller when the address space is short); returns the
  // bytes reserved. Errors: ResourceExhausted when not even `min_bytes` can be reserved.
  Result<size_t> Reserve(size_t max_bytes, size_t min_bytes);
  // Makes [0, bytes) readable and writable (zero-filled when new). Writers only, serialized.
  // Errors: ResourceExhausted beyond the reservation or when the OS refuses.
  Status Commit(size_t bytes);
  void AdoptView(uint8_t* data, size_t bytes);

  uint8_t* data() const { return data_; }
  size_t committed() const { return committed_; }
  size_t reserved() const { return reserved_; }

 private:
  uint8_t* data_ = nullptr;
  size_t reserved_ = 0;
  size_t committed_ = 0;
  bool owned_ = false;
};

// Striped spinlocks guarding link lists. A thread holds at most one at a time.
class LinkLocks {
 public:
  static constexpr size_t kStripes = 1 << 14;
  void Lock(uint32_t id) {
    std::atomic<uint8_t>& l = locks_[id & (kStripes - 1)];
    while (l.exchange(1, std::memory_order_acquire) != 0) {
      while (l.load(std::memory_order_relaxed) != 0) std::this_thread::yield();
    }
  }
  void Unlock(uint32_t id) { locks_[id & (kStripes - 1)].store(0, std::memory_order_release); }

 private:
  std::atomic<uint8_t> locks_[kStripes] = {};
};

class LinkGuard {
 public:
  LinkGuard(LinkLocks& locks, uint32_t id) : locks_(locks), id_(id) { locks_.Lock(id_); }
  ~LinkGuard() { locks_.Unlock(id_); }
  LinkGuard(const LinkGuard&) = delete;
  LinkGuard& operator=(const LinkGuard&) = delete;

 private:
  LinkLocks& locks_;
  uint32_t id_;
};

// Grace periods for slot reuse. Searches Enter/Exit; a writer that made slots unreachable calls
// WaitForReaders(), after which no search that could still hold those slots is running.
class EpochGate {
 public:
  uint64_t Enter() {
    for (;;) {
      const uint64_t e = epoch_.load();
      active_[e & 1].fetch_add(1);
      if (epoch_.load() == e) return e;
      active_[e & 1].fetch_sub(1);
    }
  }
  void Exit(uint64_t e) { active_[e & 1].fetch_sub(1); }
  // Flips the epoch and waits until every reader of the old epoch has left. Writers only.
  void WaitForReaders() {
    for (int round = 0; round < 2; ++round) {
      const uint64_t old = epoch_.fetch_add(1);
      while (active_[old & 1].load() != 0) std::this_thread::yield();
    }
  }

 private:
  std::atomic<uint64_t> epoch_{0};
  std::atomic<int64_t> active_[2] = {0, 0};
};

class ReaderScope {
 public:
  explicit ReaderScope(EpochGate& gate) : gate_(gate), epoch_(gate.Enter()) {}
  ~ReaderScope() { gate_.Exit(epoch_); }
  ReaderScope(const ReaderScope&) = delete;
  ReaderScope& operator=(const ReaderScope&) = delete;

 private:
  EpochGate& gate_;
  uint64_t epoch_;
};

struct Candidate {
  float distance;
  uint32_t id;
};

// Per-search working memory, pooled so the hot path never allocates in steady state.
struct SearchScratch {
  // One bit per slot: set <=> id seen in the current search. A bit table (41 KiB at 331k slots)
  // stays in L1/L2 while the walk streams codes through the caches; the check of a u16 tag table
  // (16x larger) held 21% of the layer-0 loop's samples, and the bits measured ~5% more QPS on
  // glove-100. Cleared per search: only the words set last time when few, else all of them.
  std::vector<uint64_t> visited;
  std::vector<uint32_t> dirty;  // [0, dirty_count): words that became non-zero in this search
  size_t dirty_count = 0;
  std::vector<Candidate> candidates;  // min-heap by distance
  std::vector<Candidate> results;     // max-heap by distance
  TopK nearest;                       // early termination: the k nearest accepted nodes
  QueryCode query;
  QueryCode pair_query;            // node-to-node distances (heuristic)
  QueryCode node_query;            // the node whose list is being pruned
  std::vector<Candidate> layer;    // sorted result of one layer / prune candidates
  std::vector<uint32_t> selected;  // heuristic output
  std::vector<Candidate> prune;    // candidates of a reverse-link prune
  std::vector<float> vector;       // normalized input vector
  size_t distance_count = 0;

  // Starts a new search over `slots` ids with an empty table.
  void NewVisit(size_t slots);
  // Sizes the table for `id` (a node newer than the search). Rare.
  void Grow(uint32_t id) {
    if (id / 64 >= visited.size()) visited.resize(static_cast<size_t>(id / 64) * 2 + 1, 0);
  }
  // Marks `id` seen; returns whether it was seen before.
  bool TestAndSet(uint32_t id) {
    Grow(id);
    uint64_t& word = visited[id / 64];
    const uint64_t bit = uint64_t{1} << (id % 64);
    if ((word & bit) != 0) return true;
    if (word == 0) {
      if (dirty_count == dirty.size()) dirty.resize(2 * dirty_count + 64);
      dirty[dirty_count++] = id / 64;
    }
    word |= bit;
    return false;
  }
};

class ScratchPool {
 public:
  std::unique_ptr<SearchScratch> Take();
  void Return(std::unique_ptr<SearchScratch> scratch);
  size_t memory_bytes() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<SearchScratch>> free_;  // guarded by mu_
};

class ScratchLease {
 public:
  explicit ScratchLease(ScratchPool& pool) : pool_(pool), scratch_(pool.Take()) {}
  ~ScratchLease() { pool_.Return(std::move(scratch_)); }
  ScratchLease(const ScratchLease&) = delete;
  ScratchLease& operator=(const ScratchLease&) = delete;
  SearchScratch& operator*() { return *scratch_; }
  SearchScratch* operator->() { return scratch_.get(); }

 private:
  ScratchPool& pool_;
  std::unique_ptr<SearchScratch> scratch_;
};

// Label -> slot of the live nodes: an open-addressing table (linear probing, power-of-two size,
// at most 3/4 full) of slot numbers only; the key of an entry is read from the graph's label
// array (`labels[slot]`), which holds every slot's label. 4 bytes per bucket, about 6.5 per
// node, instead of ~42 for std::unordered_map (a heap node per entry plus its bucket): 11% of an
// int8 index of dim 100. Not thread-safe: the graph guards it with map_mu.
class LabelMap {
 public:
  // The slot of `label`, or kNoNode.
  uint32_t Find(Label label, const Label* labels) const;
  // Appends the slot of every key present (in key order), prefetching ahead: for long lists.
  void FindMany(std::span<const Label> keys, const Label* labels, std::vector<uint32_t>* slots) const;
  // Maps labels[slot] to `slot`; returns the slot it mapped to before, or kNoNode.
  uint32_t Put(uint32_t slot, const Label* labels);
  // Unmaps `label`; returns its slot, or kNoNode when absent.
  uint32_t Erase(Label label, const Label* labels);
  size_t size() const { return size_; }
  size_t memory_bytes() const { return table_.capacity() * sizeof(uint32_t); }

 private:
  static uint64_t Hash(Label label) {  // splitmix64 finalizer: labels are often sequential
    uint64_t x = label;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }
  void Grow(const Label* labels);

  std::vector<uint32_t> table_;  // kNoNode = empty
  size_t size_ = 0;
};

// One HNSW graph: storage, links, labels, entry point. Owned by HnswIndex through a shared_ptr
// so that Compact can swap in a rebuilt graph while searches finish on the old one.
// An internal aggregate of src/index/hnsw, not an API: its fields are public so that the
// algorithm files (build, search, io) read them without accessor boilerplate; each field says
// who may write it. Configuration fields are set by Create/Open before the graph is shared.
class Graph {
 public:
  // Errors: ResourceExhausted when the address space cannot be reserved.
  // `link_bytes` 0 = LinkBytesFor(options.max_elements); a loaded file passes its own.
  static Result<std::unique_ptr<Graph>> Create(size_t dim, Metric metric, const HnswOptions& options,
                                               const simd::Int8Ranges* ranges, uint32_t link_bytes = 0);
  ~Graph();

  // ---- immutable configuration
  size_t dim = 0;
  Metric metric = Metric::kL2;
  HnswOptions options;
  BlockLayout layout;
  double level_multiplier = 0;  // 1 / ln(m)
  size_t capacity = 0;          // slots the reservation can hold
  F32Codec f32;                 // always valid: rerank and exact scoring from float32
  F16Codec f16;
  Int8Codec i8;
  bool keep_raw = false;  // float32 copies beside the codes (rerank)
  // Inner product: norm bound of the augmented build space (see AugmentedCodec). Set while the
  // graph is empty under the exclusive writer lock; read only by writers.
  float ip_phi = 0.0f;
  bool read_only = false;         // a mapped file view
  std::shared_ptr<void> mapping;  // the mapped file of a view (released after the regions)

  // ---- node access (see the file comment for the rules)
  uint8_t* block(uint32_t id) const { return blocks.data() + static_cast<size_t>(id) * layout.stride; }
  uint32_t* links0(uint32_t id) const { return reinterpret_cast<uint32_t*>(block(id)); }
  // The list of `level` >= 1.
  uint32_t* upper_links(uint32_t id, int level) const {
    return upper_ptrs()[id] + static_cast<size_t>(level - 1) * layout.upper_words;
  }
  uint32_t* links(uint32_t id, int level) const { return level == 0 ? links0(id) : upper_links(id, level); }
  uint32_t max_links(int level) const { return level == 0 ? layout.m0 : layout.m; }
  // Copies one whole state of `list` (a list of `level`) into out (kLinkBuffer ids of room);
  // returns its count. Lock-free; spins only while a writer is inside WriteList.
  uint32_t ReadList(const uint32_t* list, int level, uint32_t* out) const;
  uint32_t ReadLinks(uint32_t id, int level, uint32_t* out) const { return ReadList(links(id, level), level, out); }
  // Whether `list` still has the head read before its links (so they were one whole state).
  bool ListUnchanged(const uint32_t* list, uint32_t head) const;
  // Replaces the links of `list` with ids[0, n). Caller holds the node's LinkLocks stripe.
  void WriteList(uint32_t* list, const uint32_t* ids, uint32_t n) const;
  uint32_t meta(uint32_t id) const {
    return std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(block(id) + layout.meta_offset))
        .load(std::memory_order_acquire);
  }
  std::atomic_ref<uint32_t> meta_ref(uint32_t id) const {
    return std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(block(id) + layout.meta_offset));
  }
  int level(uint32_t id) const { return static_cast<int>(meta(id) & kMetaLevelMask); }
  const uint8_t* code(uint32_t id) const { return block(id) + layout.code_offset; }
  uint8_t* mutable_code(uint32_t id) const { return block(id) + layout.code_offset; }
  Label label(uint32_t id) const { return label_array()[id]; }
  // Written only while the slot is unreachable (ReserveSlot, under map_mu; Load).
  Label* label_array() const { return reinterpret_cast<Label*>(labels.data()); }
  const float* raw(uint32_t id) const {
    return reinterpret_cast<const float*>(raws.data()) + static_cast<size_t>(id) * dim;
  }
  uint32_t** upper_ptrs() const { return reinterpret_cast<uint32_t**>(uppers.data()); }

  // Entry point packed as (level << 32 | id); kNoNode id when empty.
  static uint64_t PackEntry(uint32_t id, int level) { return (static_cast<uint64_t>(level) << 32) | id; }
  uint32_t entry_id() const { return static_cast<uint32_t>(entry.load(std::memory_order_acquire)); }

  // Makes slot ids [0, slots) addressable. Caller holds map_mu.
  Status EnsureSlots(size_t slots);
  size_t memory_bytes() const;
  // Draws a level from the seeded generator (-ln(U) / ln(m), capped). Caller holds map_mu.
  int DrawLevel();

  // ---- mutable state
  Region blocks, labels, uppers, raws;
  LinkLocks locks;
  std::atomic<uint64_t> entry{PackEntry(kNoNode, 0)};
  std::mutex entry_mu;                 // serializes entry changes (readers load `entry`)
  std::atomic<uint32_t> num_slots{0};  // high-water mark of used slots
  std::atomic<size_t> live_count{0};
  std::atomic<size_t> deleted_count{0};  // tombstones not yet freed
  std::atomic<size_t> upper_bytes{0};
  mutable EpochGate gate;  // searches (const) register as readers
  mutable ScratchPool scratch;

  mutable std::mutex map_mu;                    // guards the fields below
  LabelMap slot_of;                  // live labels only
  std::vector<uint32_t> free_slots;             // unreachable, past their grace period
  std::mt19937_64 rng;

 private:
  Graph() = default;
};

// Runs fn(codec) with the codec of the graph's storage.
template <typename Fn>
decltype(auto) WithCodec(const Graph& g, Fn&& fn) {
  switch (g.options.storage) {
    case Scalar::kF16:
      return fn(g.f16);
    case Scalar::kInt8:
      return fn(g.i8);
    case Scalar::kF32:
      break;
  }
  return fn(g.f32);
}

inline uint32_t LoadWord(const uint32_t* p) {
  return std::atomic_ref<uint32_t>(*const_cast<uint32_t*>(p)).load(std::memory_order_acquire);
}

// Calls fn(link) for the first n links packed in `words`, in order. No consistency check: a
// caller that may race a writer validates the list head afterwards (Graph::ListUnchanged).
template <class Fn>
[[gnu::always_inline]] inline void ForEachLink(const uint32_t* words, uint32_t n, uint32_t link_bytes, Fn&& fn) {
  if (link_bytes == 4) {
    for (uint32_t i = 0; i < n; ++i) fn(LoadWord(words + i));
    return;
  }
  // Four 24-bit links in three words: aaaaaaaa'bbbbbbbb'cccccccc'dddddddd (low byte first):
  // word 0 = a | b0 << 24, word 1 = b1..2 | c0..1 << 16, word 2 = c2 | d << 8.
  constexpr uint32_t kMask = 0xFFFFFFu;
  uint32_t i = 0;
  for (; i + 4 <= n; i += 4, words += 3) {
    const uint32_t w0 = LoadWord(words), w1 = LoadWord(words + 1), w2 = LoadWord(words + 2);
    fn(w0 & kMask);
    fn((w0 >> 24) | ((w1 << 8) & kMask));
    fn((w1 >> 16) | ((w2 << 16) & kMask));
    fn(w2 >> 8);
  }
  if (i < n) {
    const uint32_t w0 = LoadWord(words), w1 = LoadWord(words + 1), w2 = LoadWord(words + 2);
    fn(w0 & kMask);
    if (i + 1 < n) fn((w0 >> 24) | ((w1 << 8) & kMask));
    if (i + 2 < n) fn((w1 >> 16) | ((w2 << 16) & kMask));
  }
}

// Unpacks n links of `link_bytes` each from `words` into out.
inline void DecodeLinks(const uint32_t* words, uint32_t n, uint32_t link_bytes, uint32_t* out) {
  ForEachLink(words, n, link_bytes, [&out](uint32_t link) { *out++ = link; });
}

// Link i of `words`, read alone and unchecked: only for prefetching, where a torn value costs
// nothing (the caller bounds it before using it as an index).
inline uint32_t PeekLink(const uint32_t* words, uint32_t i, uint32_t link_bytes) {
  if (link_bytes == 4) return LoadWord(words + i);
  const uint32_t byte = 3 * i, shift = (byte % 4) * 8;
  uint32_t v = LoadWord(words + byte / 4) >> shift;
  if (shift > 8) v |= LoadWord(words + byte / 4 + 1) << (32 - shift);
  return v & 0xFFFFFFu;
}

inline bool Graph::ListUnchanged(const uint32_t* list, uint32_t head) const {
  // A mapped file has no writers (and its heads were validated or are trusted).
  return read_only || ((head & kListWriting) == 0 && LoadWord(list) == head);
}

inline uint32_t Graph::ReadList(const uint32_t* list, int level, uint32_t* out) const {
  const uint32_t max = max_links(level);
  for (;;) {
    const uint32_t head = LoadWord(list);
    const uint32_t n = std::min(head & kListCountMask, max);
    DecodeLinks(list + 1, n, layout.link_bytes, out);
    if (ListUnchanged(list, head)) return n;
    std::this_thread::yield();
  }
}

}  // namespace vecdex::hnsw
