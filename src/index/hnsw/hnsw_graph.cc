#include "index/hnsw/hnsw_graph.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "index/index_spec.h"

namespace vecdex::hnsw {
namespace {

size_t PageSize() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

size_t RoundUp(size_t value, size_t multiple) { return (value + multiple - 1) / multiple * multiple; }

constexpr size_t kHugePage = size_t{2} << 20;  // x86-64 transparent huge page

// Address space reserved per region when no max_elements hint is given. Large enough for ~100M
// nodes of dim 128; small enough that sanitizer builds (restricted address ranges) can reserve it.
constexpr size_t kDefaultReserveBytes = size_t{64} << 30;
constexpr size_t kMaxSlots = size_t{0xFFFFFFFE};

}  // namespace

Status HnswOptions::Validate() const {
  if (m < 2 || m > kMaxM) {
    return Status::InvalidArgument("hnsw: m must be in [2, " + std::to_string(kMaxM) + "], got " + std::to_string(m));
  }
  if (ef_construction < 1 || ef_construction > 1'000'000) {
    return Status::InvalidArgument("hnsw: ef_construction must be in [1, 1000000], got " +
                                   std::to_string(ef_construction));
  }
  if (ef_search < 1 || ef_search > 1'000'000) {
    return Status::InvalidArgument("hnsw: ef_search must be in [1, 1000000], got " + std::to_string(ef_search));
  }
  if (patience > kMaxPatience) {
    return Status::InvalidArgument("hnsw: patience must be in [0, " + std::to_string(kMaxPatience) +
                                   "] (percent of ef; 0 = off), got " + std::to_string(patience));
  }
  if (slack > kMaxSlack) {
    return Status::InvalidArgument("hnsw: slack must be in [0, " + std::to_string(kMaxSlack) +
                                   "] (percent of the k-th nearest squared distance; 0 = off), got " +
                                   std::to_string(slack));
  }
  if (max_level < 1 || max_level > kMaxLevelCap) {
    return Status::InvalidArgument("hnsw: max_level must be in [1, " + std::to_string(kMaxLevelCap) + "], got " +
                                   std::to_string(max_level));
  }
  if (rerank && storage == Scalar::kF32) {
    return Status::InvalidArgument("hnsw: rerank needs storage=f16 or storage=int8 (f32 is already exact)");
  }
  if (max_elements > kMaxSlots) {
    return Status::InvalidArgument("hnsw: max_elements must be at most " + std::to_string(kMaxSlots));
  }
  return Status::Ok();
}

std::string HnswOptions::ToSpec() const {
  std::string s = "hnsw:m=" + std::to_string(m) + ",ef_construction=" + std::to_string(ef_construction) +
                  ",ef_search=" + std::to_string(ef_search) + ",storage=" + std::string(ScalarName(storage));
  if (rerank) s += ",rerank=true";
  if (patience != 0) s += ",patience=" + std::to_string(patience);
  if (slack != 0) s += ",slack=" + std::to_string(slack);
  s += ",seed=" + std::to_string(seed);
  if (max_level != 16) s += ",max_level=" + std::to_string(max_level);
  if (max_elements != 0) s += ",max_elements=" + std::to_string(max_elements);
  if (build_threads != 0) s += ",build_threads=" + std::to_string(build_threads);
  return s;
}

namespace {
// u32 words of a list of at most `max` links: the head, then the links (24-bit ones in groups
// of four per three words, since DecodeLinks reads whole groups).
uint32_t ListWords(uint32_t max, uint32_t link_bytes) {
  return 1 + (link_bytes == 4 ? max : 3 * ((max + 3) / 4));
}
}  // namespace

BlockLayout BlockLayout::Make(size_t m, size_t code_bytes, uint32_t link_bytes) {
  BlockLayout l;
  l.m = static_cast<uint32_t>(m);
  l.m0 = static_cast<uint32_t>(2 * m);
  l.link_bytes = link_bytes;
  l.list0_words = ListWords(l.m0, link_bytes);
  l.upper_words = ListWords(l.m, link_bytes);
  l.code_bytes = static_cast<uint32_t>(code_bytes);
  l.meta_offset = 4 * l.list0_words;
  l.code_offset = l.meta_offset + 4;
  l.stride = static_cast<uint32_t>(RoundUp(l.code_offset + code_bytes, 4));
  return l;
}

// ---------------------------------------------------------------------------- Region

Region::~Region() {
  if (owned_ && data_ != nullptr) munmap(data_, reserved_);
}

Result<size_t> Region::Reserve(size_t max_bytes, size_t min_bytes) {
  size_t bytes = RoundUp(std::max<size_t>(max_bytes, PageSize()), PageSize());
  min_bytes = RoundUp(std::max<size_t>(min_bytes, PageSize()), PageSize());
  for (;;) {
    // One huge page more than asked, so the region can start on a 2 MiB boundary.
    void* p = mmap(nullptr, bytes + kHugePage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p != MAP_FAILED) {
      uint8_t* raw = static_cast<uint8_t*>(p);
      uint8_t* aligned = reinterpret_cast<uint8_t*>(RoundUp(reinterpret_cast<uintptr_t>(raw), kHugePage));
      if (aligned > raw) munmap(raw, static_cast<size_t>(aligned - raw));
      if (aligned + bytes < raw + bytes + kHugePage) {
        munmap(aligned + bytes, static_cast<size_t>(raw + bytes + kHugePage - (aligned + bytes)));
      }
      p = aligned;
      // Searches touch blocks at random across the whole region: with 4 KiB pages nearly every
      // block is also a TLB miss. Transparent huge pages (2 MiB) cover a 200 MB graph with 100
      // TLB entries. Advisory: where THP is off, this does nothing.
      madvise(p, bytes, MADV_HUGEPAGE);
      data_ = static_cast<uint8_t*>(p);
      reserved_ = bytes;
      owned_ = true;
      return bytes;
    }
    if (bytes <= min_bytes) {
      return Status::ResourceExhausted("hnsw: cannot reserve " + std::to_string(bytes) +
                                       " bytes of address space: " + std::strerror(errno));
    }
    bytes = std::max(min_bytes, RoundUp(bytes / 2, PageSize()));
  }
}

Status Region::Commit(size_t bytes) {
  if (bytes <= committed_) return Status::Ok();
  if (!owned_) return Status::FailedPrecondition("hnsw: a mapped index view is read-only");
  // Grow geometrically (1/16, at least 64 KiB) so that steady inserts make few system calls
  // while the committed slack stays small.
  size_t target = std::max({bytes, committed_ + committed_ / 16, committed_ + (size_t{64} << 10)});
  // Past a few huge pages, commit whole aligned 2 MiB pages: a huge page is only used where its
  // 2 MiB lie inside the committed range when first touched (64 KiB steps left a graph built by
  // inserts on 4 KiB pages, 25% slower to search than the same graph loaded from a file).
  // Small regions keep fine steps, so a small index does not hold megabytes it never uses.
  target = RoundUp(target, target >= 4 * kHugePage ? kHugePage : PageSize());
  target = std::min(target, reserved_);
  if (target < bytes) {
    return Status::ResourceExhausted("hnsw: index is full (" + std::to_string(reserved_) +
                                     " bytes reserved); create it with a larger max_elements");
  }
  if (mprotect(data_ + committed_, target - committed_, PROT_READ | PROT_WRITE) != 0) {
    return Status::ResourceExhausted(std::string("hnsw: cannot commit memory: ") + std::strerror(errno));
  }
  committed_ = target;
  return Status::Ok();
}

void Region::AdoptView(uint8_t* data, size_t bytes) {
  if (owned_ && data_ != nullptr) munmap(data_, reserved_);
  data_ = data;
  reserved_ = bytes;
  committed_ = bytes;
  owned_ = false;
}

// ---------------------------------------------------------------------------- LabelMap

uint32_t LabelMap::Find(Label label, const Label* labels) const {
  if (table_.empty()) return kNoNode;
  const size_t mask = table_.size() - 1;
  for (size_t i = Hash(label) & mask;; i = (i + 1) & mask) {
    const uint32_t slot = table_[i];
    if (slot == kNoNode || labels[slot] == label) return slot;
  }
}

void LabelMap::FindMany(std::span<const Label> keys, const Label* labels, std::vector<uint32_t>* slots) const {
  if (table_.empty()) return;
  const size_t mask = table_.size() - 1;
  // Two cache misses per key (the bucket, then the label it names), overlapped across keys:
  // buckets are prefetched kBucketAhead keys ahead, labels kLabelAhead keys ahead.
  constexpr size_t kBucketAhead = 16;
  constexpr size_t kLabelAhead = 8;
  const size_t n = keys.size();
  for (size_t i = 0; i < n; ++i) {
    if (i + kBucketAhead < n) __builtin_prefetch(&table_[Hash(keys[i + kBucketAhead]) & mask]);
    if (i + kLabelAhead < n) {
      const uint32_t ahead = table_[Hash(keys[i + kLabelAhead]) & mask];
      if (ahead != kNoNode) __builtin_prefetch(&labels[ahead]);
    }
    const uint32_t slot = Find(keys[i], labels);
    if (slot != kNoNode) slots->push_back(slot);
  }
}

uint32_t LabelMap::Put(uint32_t slot, const Label* labels) {
  if ((size_ + 1) * 4 > table_.size() * 3) Grow(labels);
  const Label label = labels[slot];
  const size_t mask = table_.size() - 1;
  for (size_t i = Hash(label) & mask;; i = (i + 1) & mask) {
    const uint32_t old = table_[i];
    if (old == kNoNode) {
      table_[i] = slot;
      ++size_;
      return kNoNode;
    }
    if (labels[old] == label) {
      table_[i] = slot;
      return old;
    }
  }
}

uint32_t LabelMap::Erase(Label label, const Label* labels) {
  if (table_.empty()) return kNoNode;
  const size_t mask = table_.size() - 1;
  size_t i = Hash(label) & mask;
  for (;; i = (i + 1) & mask) {
    if (table_[i] == kNoNode) return kNoNode;
    if (labels[table_[i]] == label) break;
  }
  const uint32_t erased = table_[i];
  // Backward-shift deletion: move later entries of the probe run into the hole when their home
  // bucket does not lie cyclically in (hole, entry], so every run stays gap-free.
  for (size_t j = (i + 1) & mask; table_[j] != kNoNode; j = (j + 1) & mask) {
    const size_t home = Hash(labels[table_[j]]) & mask;
    const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (!stays) {
      table_[i] = table_[j];
      i = j;
    }
  }
  table_[i] = kNoNode;
  --size_;
  return erased;
}

void LabelMap::Grow(const Label* labels) {
  std::vector<uint32_t> old = std::move(table_);
  table_.assign(std::max<size_t>(64, old.size() * 2), kNoNode);
  size_ = 0;
  for (uint32_t slot : old) {
    if (slot != kNoNode) Put(slot, labels);
  }
}

// ---------------------------------------------------------------------------- scratch

void SearchScratch::NewVisit(size_t slots) {
  const size_t words = slots / 64 + 1;
  if (dirty_count * 16 < visited.size()) {
    for (size_t i = 0; i < dirty_count; ++i) visited[dirty[i]] = 0;
  } else {
    std::fill(visited.begin(), visited.end(), 0);
  }
  dirty_count = 0;
  if (visited.size() < words) visited.resize(words + words / 4 + 1, 0);
}

std::unique_ptr<SearchScratch> ScratchPool::Take() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!free_.empty()) {
      std::unique_ptr<SearchScratch> s = std::move(free_.back());
      free_.pop_back();
      return s;
    }
  }
  return std::make_unique<SearchScratch>();
}

void ScratchPool::Return(std::unique_ptr<SearchScratch> scratch) {
  std::lock_guard<std::mutex> lock(mu_);
  free_.push_back(std::move(scratch));
}

size_t ScratchPool::memory_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t bytes = free_.capacity() * sizeof(void*);
  for (const auto& s : free_) {
    bytes += sizeof(SearchScratch) + s->visited.capacity() * sizeof(uint64_t) + s->dirty.capacity() * sizeof(uint32_t) +
             (s->candidates.capacity() + s->results.capacity() + s->layer.capacity() + s->prune.capacity()) *
                 sizeof(Candidate) +
             s->selected.capacity() * sizeof(uint32_t) + s->vector.capacity() * sizeof(float);
    for (const QueryCode* q : {&s->query, &s->pair_query, &s->node_query}) {
      bytes += (q->buffer.capacity() + q->scratch.capacity()) * sizeof(float) + q->codes.capacity();
    }
  }
  return bytes;
}

// ---------------------------------------------------------------------------- Graph

Result<std::unique_ptr<Graph>> Graph::Create(size_t dim, Metric metric, const HnswOptions& options,
                                             const simd::Int8Ranges* ranges, uint32_t link_bytes) {
  VECDEX_RETURN_IF_ERROR(options.Validate());
  if (dim == 0 || dim > kMaxDimension) {
    return Status::InvalidArgument("hnsw: dimension must be in [1, " + std::to_string(kMaxDimension) + "], got " +
                                   std::to_string(dim));
  }
  std::unique_ptr<Graph> g(new Graph());
  const simd::KernelTable& kernels = simd::Kernels();
  g->dim = dim;
  g->metric = metric;
  g->options = options;
  g->level_multiplier = 1.0 / std::log(static_cast<double>(options.m));
  g->f32 = F32Codec(dim, metric, kernels);
  g->f16 = F16Codec(dim, metric, kernels);
  g->i8 = Int8Codec(dim, metric, kernels, ranges != nullptr ? *ranges : simd::TrainInt8Ranges(nullptr, 0, dim));
  g->keep_raw = options.rerank;
  // Inner product keeps the augmented coordinate after the code (see AugmentedCodec).
  const size_t code_bytes = WithCodec(*g, [](const auto& c) { return c.code_bytes(); }) +
                            (metric == Metric::kInnerProduct ? sizeof(float) : 0);
  if (link_bytes == 0) link_bytes = LinkBytesFor(options.max_elements);
  g->layout = BlockLayout::Make(options.m, code_bytes, link_bytes);
  g->rng.seed(options.seed);

  const size_t want_slots = options.max_elements != 0 ? options.max_elements
                                                      : std::max<size_t>(1024, kDefaultReserveBytes / g->layout.stride);
  VECDEX_ASSIGN_OR_RETURN(size_t block_bytes,
                          g->blocks.Reserve(std::min(want_slots, link_bytes == 3 ? kMaxSlots24 : kMaxSlots) *
                                                g->layout.stride,
                                            g->layout.stride));
  g->capacity = block_bytes / g->layout.stride;
  VECDEX_ASSIGN_OR_RETURN(size_t label_bytes, g->labels.Reserve(g->capacity * sizeof(Label), sizeof(Label)));
  VECDEX_ASSIGN_OR_RETURN(size_t upper_bytes, g->uppers.Reserve(g->capacity * sizeof(void*), sizeof(void*)));
  g->capacity = std::min({g->capacity, label_bytes / sizeof(Label), upper_bytes / sizeof(void*)});
  if (g->keep_raw) {
    VECDEX_ASSIGN_OR_RETURN(size_t raw_bytes, g->raws.Reserve(g->capacity * dim * sizeof(float), dim * sizeof(float)));
    g->capacity = std::min(g->capacity, raw_bytes / (dim * sizeof(float)));
  }
  return g;
}

Graph::~Graph() {
  if (read_only) return;  // upper arrays of a view live in the mapped file
  const size_t n = num_slots.load();
  uint32_t** ups = upper_ptrs();
  for (size_t i = 0; i < n; ++i) delete[] ups[i];
}

void Graph::WriteList(uint32_t* list, const uint32_t* ids, uint32_t n) const {
  uint32_t words[kLinkBuffer];
  uint32_t count = n;
  if (layout.link_bytes == 4) {
    if (n > 0) std::memcpy(words, ids, n * sizeof(uint32_t));  // ids may be null when n == 0
  } else {
    // The inverse of DecodeLinks: four 24-bit links per three words, the last group zero-padded.
    uint32_t group[4];
    count = 0;
    for (uint32_t i = 0; i < n; i += 4) {
      for (uint32_t j = 0; j < 4; ++j) group[j] = i + j < n ? ids[i + j] : 0;
      words[count++] = group[0] | (group[1] << 24);
      words[count++] = (group[1] >> 8) | (group[2] << 16);
      words[count++] = (group[2] >> 16) | (group[3] << 8);
    }
  }
  std::atomic_ref<uint32_t> head(*list);
  const uint32_t before = head.load(std::memory_order_relaxed);
  // Odd sequence first; the release stores of the words below keep it ordered before them.
  head.store(before + kListWriting, std::memory_order_relaxed);
  for (uint32_t i = 0; i < count; ++i) std::atomic_ref<uint32_t>(list[1 + i]).store(words[i], std::memory_order_release);
  head.store(((before + 2 * kListWriting) & ~kListCountMask) | n, std::memory_order_release);
}

Status Graph::EnsureSlots(size_t slots) {
  if (slots > capacity) {
    return Status::ResourceExhausted(
        "hnsw: index is full (" + std::to_string(capacity) + " slots); create it with a larger max_elements" +
        (layout.link_bytes == 3 ? " (above " + std::to_string(kMaxSlots24) + ", links take 4 bytes instead of 3)"
                                : std::string()));
  }
  VECDEX_RETURN_IF_ERROR(blocks.Commit(slots * layout.stride));
  VECDEX_RETURN_IF_ERROR(labels.Commit(slots * sizeof(Label)));
  VECDEX_RETURN_IF_ERROR(uppers.Commit(slots * sizeof(void*)));
  if (keep_raw) VECDEX_RETURN_IF_ERROR(raws.Commit(slots * dim * sizeof(float)));
  return Status::Ok();
}

int Graph::DrawLevel() {
  // 1 - U is in (0, 1], so the log is finite.
  const double u = 1.0 - std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  const double level = -std::log(u) * level_multiplier;
  return static_cast<int>(std::min<double>(level, static_cast<double>(options.max_level)));
}

size_t Graph::memory_bytes() const {
  size_t bytes = sizeof(Graph) + blocks.committed() + labels.committed() + uppers.committed() + raws.committed() +
                 upper_bytes.load() + scratch.memory_bytes();
  std::lock_guard<std::mutex> lock(map_mu);
  bytes += slot_of.memory_bytes();
  bytes += free_slots.capacity() * sizeof(uint32_t);
  bytes += i8.ranges().offset.capacity() * sizeof(float) * 2;
  return bytes;
}

}  // namespace vecdex::hnsw
