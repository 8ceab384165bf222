// OpenIndexFile: the one place that maps a file's magic to the index kind that reads it, so a
// caller (collection recovery, the CLI) opens any saved index without knowing its kind.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "index/flat/flat_index.h"
#include "vecdex/index.h"

#if __has_include("index/hnsw/hnsw_index.h")
#include "index/hnsw/hnsw_index.h"
#define VECDEX_HAVE_HNSW 1
#endif

namespace vecdex {
namespace {

constexpr size_t kMagicBytes = 8;
#ifdef VECDEX_HAVE_HNSW
constexpr char kHnswMagic[kMagicBytes + 1] = "VDXHNSW1";  // docs/format/hnsw.md
#endif

// Reads up to kMagicBytes from the start of `path` into `magic`; returns how many were read.
Result<size_t> ReadMagic(const std::string& path, char* magic) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("index file " + path + ": cannot open: " + std::strerror(errno));
  size_t got = 0;
  while (got < kMagicBytes) {
    const ssize_t n = ::pread(fd, magic + got, kMagicBytes - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      return Status::IOError("index file " + path + ": cannot read: " + std::strerror(error));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  return got;
}

}  // namespace

Result<std::unique_ptr<Index>> OpenIndexFile(const std::string& path, IndexOpenMode mode) {
  char magic[kMagicBytes] = {};
  VECDEX_ASSIGN_OR_RETURN(size_t got, ReadMagic(path, magic));
  if (got == kMagicBytes && std::memcmp(magic, FlatIndex::kFileMagic, kMagicBytes) == 0) {
    // Flat search streams every row anyway: a mapped copy would gain nothing, so kMap reads.
    VECDEX_ASSIGN_OR_RETURN(std::unique_ptr<FlatIndex> flat, FlatIndex::Load(path));
    return std::unique_ptr<Index>(std::move(flat));
  }
#ifdef VECDEX_HAVE_HNSW
  if (got == kMagicBytes && std::memcmp(magic, kHnswMagic, kMagicBytes) == 0) {
    Result<std::unique_ptr<HnswIndex>> hnsw =
        mode == IndexOpenMode::kMap ? HnswIndex::View(path, /*verify=*/true) : HnswIndex::Load(path);
    if (!hnsw.ok()) return hnsw.status();
    return std::unique_ptr<Index>(std::move(hnsw).value());
  }
#endif
  if (got < kMagicBytes) {
    return Status::Corruption("index file " + path + ": truncated: " + std::to_string(got) +
                              " bytes, too short for an index file's magic");
  }
  return Status::Corruption("index file " + path + ": bad magic: not a vecdex index file (known: " +
                            std::string(FlatIndex::kFileMagic) +
#ifdef VECDEX_HAVE_HNSW
                            ", " + kHnswMagic +
#endif
                            ")");
}

}  // namespace vecdex
