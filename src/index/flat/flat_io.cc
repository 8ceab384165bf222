// Save and Load of a FlatIndex: one versioned, checksummed file, byte layout in
// docs/format/flat.md. Every field read from a file is validated before it is used, so a
// truncated or corrupt file is a Corruption status naming what is wrong, never a crash.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "common/coding.h"
#include "common/crc32c.h"
#include "common/durable_file.h"
#include "common/file_header.h"
#include "index/flat/flat_index.h"

namespace vecdex {
namespace {

using coding::Get;
using coding::Put;

constexpr uint32_t kFormatVersion = 1;
constexpr size_t kHeaderBytes = 64;
constexpr size_t kSectionAlign = 64;
constexpr size_t kHeaderCrcAt = 60;
const std::string kKind = "flat file";

uint64_t AlignUp(uint64_t v) { return (v + kSectionAlign - 1) / kSectionAlign * kSectionAlign; }

// Where each part of a file with `count` rows of `dim` floats sits. Callers bound count and dim
// first (count * dim * 4 must not overflow).
struct Layout {
  uint64_t labels_offset = kHeaderBytes;
  uint64_t labels_bytes;
  uint64_t rows_offset;
  uint64_t rows_bytes;
  uint64_t file_bytes;
  Layout(uint64_t count, uint64_t dim)
      : labels_bytes(count * sizeof(Label)),
        rows_offset(AlignUp(kHeaderBytes + labels_bytes)),
        rows_bytes(count * dim * sizeof(float)),
        file_bytes(AlignUp(rows_offset + rows_bytes)) {}
};

Status Corrupt(const std::string& path, const std::string& what) {
  return Status::Corruption(kKind + " " + path + ": " + what);
}

// True when bytes [begin, end) are all zero (the padding between and after sections).
bool AllZero(const uint8_t* data, uint64_t begin, uint64_t end) {
  for (uint64_t i = begin; i < end; ++i) {
    if (data[i] != 0) return false;
  }
  return true;
}

}  // namespace

Status FlatIndex::Save(const std::string& path) const {
  const Layout layout(labels_.size(), dim_);
  uint8_t header[kHeaderBytes] = {};
  std::memcpy(header, kFileMagic, 8);
  Put<uint32_t>(header + 8, kFormatVersion);
  Put<uint32_t>(header + 12, kHeaderBytes);
  header[16] = static_cast<uint8_t>(metric_);
  Put<uint32_t>(header + 20, static_cast<uint32_t>(dim_));
  Put<uint64_t>(header + 24, labels_.size());
  Put<uint64_t>(header + 32, layout.labels_offset);
  Put<uint64_t>(header + 40, layout.rows_offset);
  Put<uint32_t>(header + 48, Crc32c(labels_.data(), layout.labels_bytes));
  Put<uint32_t>(header + 52, Crc32c(vectors_.data(), layout.rows_bytes));
  Put<uint32_t>(header + kHeaderCrcAt, Crc32c(header, kHeaderCrcAt));

  const std::string temp = path + ".tmp";
  DurableFileWriter out(kKind, temp);
  VECDEX_RETURN_IF_ERROR(out.Open());
  VECDEX_RETURN_IF_ERROR(out.WriteAt(0, header, kHeaderBytes));
  if (layout.labels_bytes > 0) {
    VECDEX_RETURN_IF_ERROR(out.WriteAt(layout.labels_offset, labels_.data(), layout.labels_bytes));
  }
  if (layout.rows_bytes > 0) {
    VECDEX_RETURN_IF_ERROR(out.WriteAt(layout.rows_offset, vectors_.data(), layout.rows_bytes));
  }
  // Padding is the zeros of the extended file; the size is exact, so a reader can check it.
  VECDEX_RETURN_IF_ERROR(out.Truncate(layout.file_bytes));
  VECDEX_RETURN_IF_ERROR(out.SyncAndClose());
  return PublishFile(kKind, temp, path);
}

Result<std::unique_ptr<FlatIndex>> FlatIndex::Load(const std::string& path) {
  VECDEX_ASSIGN_OR_RETURN(std::shared_ptr<FileMapping> file, MapFile(kKind, path));
  const uint8_t* data = file->data;
  const uint64_t size = file->size;
  // Magic, size, header checksum, then the version (FailedPrecondition when it is another one).
  VECDEX_RETURN_IF_ERROR(CheckFileHeader(data, size, kFileMagic, kFormatVersion, kHeaderBytes, kKind, path));
  const uint8_t* h = data;
  if (h[16] > static_cast<uint8_t>(Metric::kCosine)) return Corrupt(path, "header: unknown metric");
  if (h[17] != 0 || h[18] != 0 || h[19] != 0 || Get<uint32_t>(h + 56) != 0) {
    return Corrupt(path, "header: nonzero reserved bytes");
  }
  const Metric metric = static_cast<Metric>(h[16]);
  const uint64_t dim = Get<uint32_t>(h + 20);
  const uint64_t count = Get<uint64_t>(h + 24);
  if (dim == 0 || dim > kMaxDimension) return Corrupt(path, "header: dimension " + std::to_string(dim));
  // Bounds count before any multiplication: the rows alone must fit in the file.
  if (count > size / (dim * sizeof(float))) {
    return Corrupt(path, "truncated: " + std::to_string(count) + " rows of dimension " + std::to_string(dim) +
                             " do not fit in " + std::to_string(size) + " bytes");
  }
  const Layout layout(count, dim);
  if (Get<uint64_t>(h + 32) != layout.labels_offset || Get<uint64_t>(h + 40) != layout.rows_offset) {
    return Corrupt(path, "header: section offsets do not match the row count");
  }
  if (size < layout.file_bytes) {
    return Corrupt(path, "truncated: the file has " + std::to_string(size) + " bytes, expected " +
                             std::to_string(layout.file_bytes));
  }
  if (size > layout.file_bytes) return Corrupt(path, "trailing bytes after the rows section");
  const uint64_t labels_end = layout.labels_offset + layout.labels_bytes;
  const uint64_t rows_end = layout.rows_offset + layout.rows_bytes;
  if (!AllZero(data, labels_end, layout.rows_offset)) return Corrupt(path, "nonzero padding after the labels section");
  if (!AllZero(data, rows_end, size)) return Corrupt(path, "nonzero padding at the end of the file");
  if (Crc32c(data + layout.labels_offset, layout.labels_bytes) != Get<uint32_t>(h + 48)) {
    return Corrupt(path, "checksum mismatch in labels section");
  }
  if (Crc32c(data + layout.rows_offset, layout.rows_bytes) != Get<uint32_t>(h + 52)) {
    return Corrupt(path, "checksum mismatch in rows section");
  }

  // The checksums prove the bytes are what Save wrote; these checks keep a crafted file (valid
  // checksums, invalid content) from breaking the index's invariants.
  auto index = std::make_unique<FlatIndex>(dim, metric);
  const size_t n = static_cast<size_t>(count);
  index->labels_.resize(n);
  index->vectors_.resize(n * dim);
  index->norms_sq_.resize(n);
  index->slot_of_.reserve(n);
  if (n > 0) {
    std::memcpy(index->labels_.data(), data + layout.labels_offset, layout.labels_bytes);
    std::memcpy(index->vectors_.data(), data + layout.rows_offset, layout.rows_bytes);
  }
  for (size_t slot = 0; slot < n; ++slot) {
    const Label label = index->labels_[slot];
    if (label == kNoLabel) return Corrupt(path, "labels section: slot " + std::to_string(slot) + " has no label");
    if (!index->slot_of_.emplace(label, slot).second) {
      return Corrupt(path, "labels section: label " + std::to_string(label) + " repeats");
    }
    const float* row = index->vectors_.data() + slot * dim;
    for (size_t i = 0; i < dim; ++i) {
      if (!std::isfinite(row[i])) {
        return Corrupt(path, "rows section: row " + std::to_string(slot) + " has a NaN or infinite component");
      }
    }
    index->norms_sq_[slot] = simd::Kernels().dot_f32(row, row, dim);
  }
  return index;
}

}  // namespace vecdex
