// libFuzzer target for the index file readers: OpenIndexFile (flat and HNSW, read and mapped)
// on arbitrary files. Beyond "no crash, no sanitizer report" it checks that:
//   - a failure is Corruption or FailedPrecondition naming the file (the file exists, so never
//     IOError, never another code);
//   - an opened index is self-consistent: Labels() has size() labels, a search succeeds and
//     returns min(k, size()) labels that are live, a mapped HNSW file is read-only.
//
// Checksums stop random bytes at the header, so the first input byte steers the harness:
//   bits 0-1  0 or 3: the rest is the whole file; 1: "VDXFLAT1" + the rest; 2: "VDXHNSW1" + the rest
//   bit 2     reseal: recompute every checksum (per docs/format/flat.md and hnsw.md) before
//             writing, so mutations reach the field validation and the graph checks behind them.
//   bit 3     synthesize: ignore bits 0-1; build a small valid index from the next 4 bytes (kind,
//             metric, storage, rows, dim, m, deletions), Save it, then XOR the rest of the input
//             into the file as (u16 offset, u8 mask) triples. Reaches deep states at once
//             (graphs, tombstones, int8 ranges) that byte-level mutation would take hours to build.
// Build with -DVECDEX_BUILD_FUZZ=ON and clang (see CMakeLists.txt), run e.g.
//   build-fuzz/index_file_fuzz -max_total_time=30
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/coding.h"
#include "common/crc32c.h"
#include "vecdex/index.h"

namespace {

using vecdex::Crc32c;
using vecdex::IndexOpenMode;
using vecdex::Label;
using vecdex::Status;
using vecdex::StatusCode;
using vecdex::coding::Get;
using vecdex::coding::Put;

constexpr char kFlatMagic[] = "VDXFLAT1";
constexpr char kHnswMagic[] = "VDXHNSW1";

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "index_file_fuzz: invariant violated: %s\n", what);
    std::abort();
  }
}

// Where the file goes: one per process, so parallel fuzzing jobs (-jobs) do not collide.
const std::string& FilePath() {
  static const std::string path = [] {
    // Memory-backed when possible: on ext4 every rewrite of a file would be flushed on close.
    const char* dir = std::getenv("TMPDIR");
    std::string base = dir != nullptr && *dir != '\0' ? dir : (::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    return base + "/vecdex_index_file_fuzz_" +
           std::to_string(::getpid()) + ".idx";
  }();
  static const bool cleanup_registered = [] {
    std::atexit([] { ::unlink(FilePath().c_str()); });  // libFuzzer ends with exit()
    return true;
  }();
  (void)cleanup_registered;
  return path;
}

void WriteFile(const std::vector<uint8_t>& bytes) {
  // A new file each time, never a truncated one: ext4 flushes a truncated-and-rewritten file on
  // close (auto_da_alloc), which would cost a disk write per input.
  ::unlink(FilePath().c_str());
  const int fd = ::open(FilePath().c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  Check(fd >= 0, "temp file opens");
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    Check(n > 0, "temp file write");
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

// Sets the CRC-32C of [offset, offset + length) at `crc_at`, when all of it is inside the file.
void SealRange(std::vector<uint8_t>& b, size_t crc_at, uint64_t offset, uint64_t length) {
  if (crc_at + 4 > b.size() || offset > b.size() || length > b.size() - offset) return;
  Put<uint32_t>(b.data() + crc_at, Crc32c(b.data() + offset, length));
}

void ResealFlat(std::vector<uint8_t>& b) {
  if (b.size() < 64) return;
  const uint64_t dim = Get<uint32_t>(b.data() + 20);
  const uint64_t count = Get<uint64_t>(b.data() + 24);
  const uint64_t labels_offset = Get<uint64_t>(b.data() + 32);
  const uint64_t rows_offset = Get<uint64_t>(b.data() + 40);
  if (count <= b.size() / 8) SealRange(b, 48, labels_offset, count * 8);
  if (dim > 0 && dim <= 65536 && count <= b.size() / (4 * dim)) SealRange(b, 52, rows_offset, count * dim * 4);
  SealRange(b, 60, 0, 60);
}

void ResealHnsw(std::vector<uint8_t>& b) {
  constexpr size_t kHeader = 128, kEntry = 32, kSections = 5;
  if (b.size() < kHeader) return;
  for (size_t i = 0; i < kSections && kHeader + (i + 1) * kEntry <= b.size(); ++i) {
    const size_t e = kHeader + i * kEntry;
    SealRange(b, e + 24, Get<uint64_t>(b.data() + e + 8), Get<uint64_t>(b.data() + e + 16));
    SealRange(b, e + 28, e, 28);
  }
  SealRange(b, 124, 0, 124);
}

// A small saved index described by p[0..3], damaged by the triples in p[4..n). Empty if n < 4.
std::vector<uint8_t> Synthesize(const uint8_t* p, size_t n) {
  if (n < 4) return {};
  const bool hnsw = (p[0] & 1) != 0;
  const vecdex::Metric metric = static_cast<vecdex::Metric>((p[0] >> 1 & 3) % 3);
  static const char* const kStorage[] = {"f32", "f16", "int8"};
  const int storage = (p[0] >> 3 & 3) % 3;
  const size_t rows = p[1] % 48, dim = 1 + p[2] % 6, m = 2 + p[3] % 6;
  const std::string spec = hnsw ? "hnsw:m=" + std::to_string(m) + ",ef_construction=16,build_threads=1,seed=3,storage=" +
                                      kStorage[storage] + ",rerank=" + (storage != 0 && (p[0] & 32) ? "true" : "false")
                                : "flat";
  auto index = vecdex::CreateIndex(spec, dim, metric);
  Check(index.ok(), "the synthesized spec is valid");
  std::vector<float> values(rows * dim);
  uint32_t state = 0x9E3779B9u ^ (uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3]);
  for (float& v : values) {
    state = state * 1664525u + 1013904223u;
    v = static_cast<float>(static_cast<int32_t>(state >> 16) - 32768) / 4096.0f;
  }
  std::vector<Label> labels(rows);
  for (size_t i = 0; i < rows; ++i) labels[i] = i * 3 + 1;
  Check((*index)->Add(labels, {values.data(), rows, dim}).ok(), "the synthesized index builds");
  if (p[3] & 0x80) {  // tombstones (hnsw) or moved rows (flat)
    std::vector<Label> removed;
    for (size_t i = 0; i < rows; i += 3) removed.push_back(labels[i]);
    Check((*index)->Remove(removed).ok(), "the synthesized index removes");
  }
  ::unlink(FilePath().c_str());
  Check((*index)->Save(FilePath()).ok(), "the synthesized index saves");
  std::vector<uint8_t> file;
  {
    const int fd = ::open(FilePath().c_str(), O_RDONLY | O_CLOEXEC);
    Check(fd >= 0, "the saved file opens");
    uint8_t buffer[4096];
    ssize_t got;
    while ((got = ::read(fd, buffer, sizeof(buffer))) > 0) file.insert(file.end(), buffer, buffer + got);
    ::close(fd);
  }
  for (size_t i = 4; i + 3 <= n && !file.empty(); i += 3) {
    const size_t offset = (size_t{p[i]} | size_t{p[i + 1]} << 8) % file.size();
    file[offset] ^= p[i + 2];
  }
  return file;
}

void CheckOpened(vecdex::Index& index, IndexOpenMode mode, bool hnsw) {
  const std::vector<Label> labels = index.Labels();
  Check(labels.size() == index.size(), "Labels() has size() labels");
  if (hnsw && mode == IndexOpenMode::kMap) Check(index.read_only(), "a mapped hnsw file is read-only");
  const size_t dim = index.dim();
  Check(dim > 0 && dim <= 65536, "sane dimension");
  std::vector<float> query(dim);
  for (size_t i = 0; i < dim; ++i) query[i] = static_cast<float>(i % 7) - 3.0f;
  vecdex::SearchParams params;
  params.k = 3;
  params.threads = 1;
  vecdex::SearchResults results;
  const Status searched = index.Search({query.data(), 1, dim}, params, &results);
  Check(searched.ok(), "a search of an opened index succeeds");
  Check(results.k == std::min<size_t>(3, index.size()), "results have min(k, size) columns");
  for (size_t i = 0; i < results.count_of(0); ++i) {
    Check(std::find(labels.begin(), labels.end(), results.labels[i]) != labels.end(), "results are live labels");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t control = data[0];
  const int kind = control & 3;
  std::vector<uint8_t> file;
  if (control & 8) {
    file = Synthesize(data + 1, size - 1);
  } else {
    if (kind == 1) file.assign(kFlatMagic, kFlatMagic + 8);
    if (kind == 2) file.assign(kHnswMagic, kHnswMagic + 8);
    file.insert(file.end(), data + 1, data + size);
  }
  const bool is_flat = file.size() >= 8 && std::memcmp(file.data(), kFlatMagic, 8) == 0;
  const bool is_hnsw = file.size() >= 8 && std::memcmp(file.data(), kHnswMagic, 8) == 0;
  if (control & 4) {
    if (is_flat) ResealFlat(file);
    if (is_hnsw) ResealHnsw(file);
  }
  WriteFile(file);

  for (IndexOpenMode mode : {IndexOpenMode::kRead, IndexOpenMode::kMap}) {
    auto opened = vecdex::OpenIndexFile(FilePath(), mode);
    if (!opened.ok()) {
      const Status& s = opened.status();
      if (s.code() != StatusCode::kCorruption && s.code() != StatusCode::kFailedPrecondition) {
        std::fprintf(stderr, "unexpected status: %s\n", s.ToString().c_str());
      }
      Check(s.code() == StatusCode::kCorruption || s.code() == StatusCode::kFailedPrecondition,
            "failure is Corruption or FailedPrecondition");
      Check(s.message().find(FilePath()) != std::string::npos, "the error names the file");
      continue;
    }
    Check(is_flat || is_hnsw, "only a known magic opens");
    CheckOpened(**opened, mode, is_hnsw);
  }
  return 0;
}
