#include "io/vecs_io.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>

#include "io/file_util.h"

namespace vecdex::io {
namespace {

constexpr size_t kDimFieldBytes = sizeof(int32_t);
// Rows are read and written in chunks of about this many bytes: large enough that syscalls are
// negligible, small enough that the chunk buffer is noise next to the dataset.
constexpr size_t kChunkBytes = size_t{4} << 20;

// Where a file's rows are, once row 0's dimension and the file size have been checked.
struct Layout {
  size_t dim = 0;
  size_t row_bytes = 0;  // dimension field + payload
  size_t rows = 0;       // rows to return (the prefix asked for)
};

int32_t LoadInt32(const uint8_t* p) {
  int32_t value;
  std::memcpy(&value, p, sizeof(value));
  return value;
}

std::string Prefix(std::string_view name) {
  std::string out(name);
  out += ": ";
  return out;
}

// Checks what the first four bytes and the file size say, for a format whose values are
// `Disk`. `head` holds the first min(4, file_size) bytes.
template <typename Disk>
Result<Layout> ComputeLayout(std::string_view name, uint64_t file_size,
                             std::span<const uint8_t> head, size_t max_rows) {
  if (file_size == 0) return Status::Corruption(Prefix(name) + "empty file");
  if (file_size < kDimFieldBytes) {
    return Status::Corruption(Prefix(name) + "truncated: file size " + std::to_string(file_size) +
                              " is smaller than the 4-byte dimension field of row 0");
  }
  const int32_t declared = LoadInt32(head.data());
  if (declared <= 0 || static_cast<uint64_t>(declared) > kMaxDim) {
    return Status::Corruption(Prefix(name) + "row 0 declares dimension " +
                              std::to_string(declared) + ", outside 1.." +
                              std::to_string(kMaxDim));
  }
  Layout layout;
  layout.dim = static_cast<size_t>(declared);
  layout.row_bytes = kDimFieldBytes + layout.dim * sizeof(Disk);
  if (file_size % layout.row_bytes != 0) {
    return Status::Corruption(Prefix(name) + "truncated: file size " + std::to_string(file_size) +
                              " is not a multiple of the row size " +
                              std::to_string(layout.row_bytes) + " (dimension " +
                              std::to_string(layout.dim) + ")");
  }
  const uint64_t rows_in_file = file_size / layout.row_bytes;
  layout.rows = static_cast<size_t>(max_rows == 0 ? rows_in_file
                                                  : std::min<uint64_t>(rows_in_file, max_rows));
  return layout;
}

// Decodes the whole rows in `chunk`, which start at row `first_row` of the file, into `out`
// (which points at that row of the result). Every row must repeat row 0's dimension.
template <typename Disk, typename Out>
Status DecodeRows(std::string_view name, std::span<const uint8_t> chunk, size_t first_row,
                  const Layout& layout, Out* out) {
  const size_t rows = chunk.size() / layout.row_bytes;
  for (size_t i = 0; i < rows; ++i) {
    const uint8_t* row = chunk.data() + i * layout.row_bytes;
    const int32_t declared = LoadInt32(row);
    if (declared < 0 || static_cast<size_t>(declared) != layout.dim) {
      return Status::Corruption(Prefix(name) + "row " + std::to_string(first_row + i) +
                                " declares dimension " + std::to_string(declared) +
                                ", expected " + std::to_string(layout.dim));
    }
    const uint8_t* payload = row + kDimFieldBytes;
    Out* dst = out + i * layout.dim;
    if constexpr (std::is_same_v<Disk, Out>) {
      std::memcpy(dst, payload, layout.dim * sizeof(Disk));
    } else {
      static_assert(std::is_same_v<Disk, uint8_t>, "only bvecs converts values");
      for (size_t j = 0; j < layout.dim; ++j) dst[j] = static_cast<Out>(payload[j]);
    }
  }
  return Status::Ok();
}

template <typename Dataset>
Status AllocateDataset(std::string_view name, const Layout& layout, Dataset& out) {
  out.rows = layout.rows;
  out.dim = layout.dim;
  // Cannot overflow: rows * row_bytes <= the file size (or the input span's size).
  return internal::AllocateValues(name, layout.rows * layout.dim, out.values);
}

template <typename Disk, typename Dataset>
Result<Dataset> ParseVecs(std::span<const uint8_t> bytes, std::string_view name,
                          size_t max_rows) {
  VECDEX_ASSIGN_OR_RETURN(
      const Layout layout,
      ComputeLayout<Disk>(name, bytes.size(), bytes.first(std::min(bytes.size(), kDimFieldBytes)),
                          max_rows));
  Dataset out;
  VECDEX_RETURN_IF_ERROR(AllocateDataset(name, layout, out));
  VECDEX_RETURN_IF_ERROR(DecodeRows<Disk>(name, bytes.first(layout.rows * layout.row_bytes), 0,
                                          layout, out.values.data()));
  return out;
}

template <typename Disk, typename Dataset>
Result<Dataset> ReadVecs(const std::string& path, size_t max_rows) {
  VECDEX_ASSIGN_OR_RETURN(const internal::InputFile file, internal::InputFile::Open(path));
  uint8_t head[kDimFieldBytes] = {};
  const size_t head_bytes = static_cast<size_t>(std::min<uint64_t>(file.size(), kDimFieldBytes));
  VECDEX_RETURN_IF_ERROR(file.ReadAt(0, head, head_bytes));
  VECDEX_ASSIGN_OR_RETURN(const Layout layout,
                          ComputeLayout<Disk>(path, file.size(), {head, head_bytes}, max_rows));
  Dataset out;
  VECDEX_RETURN_IF_ERROR(AllocateDataset(path, layout, out));

  // Chunks of rows, so only the result and one chunk are ever in memory (not a second copy of
  // a possibly multi-gigabyte file).
  const size_t chunk_rows = std::max<size_t>(1, kChunkBytes / layout.row_bytes);
  std::vector<uint8_t> chunk;
  VECDEX_RETURN_IF_ERROR(internal::AllocateValues(
      path, std::min(chunk_rows, layout.rows) * layout.row_bytes, chunk));
  for (size_t row = 0; row < layout.rows; row += chunk_rows) {
    const size_t bytes = std::min(chunk_rows, layout.rows - row) * layout.row_bytes;
    VECDEX_RETURN_IF_ERROR(file.ReadAt(static_cast<uint64_t>(row) * layout.row_bytes,
                                       chunk.data(), bytes));
    VECDEX_RETURN_IF_ERROR(DecodeRows<Disk>(path, {chunk.data(), bytes}, row, layout,
                                            out.values.data() + row * layout.dim));
  }
  return out;
}

// Checks what every writer needs; `name` is the path (or "matrix" for the encoders).
template <typename T>
Status CheckMatrix(std::string_view name, const T* data, size_t rows, size_t dim) {
  if (rows == 0) {
    return Status::InvalidArgument(Prefix(name) +
                                   "no rows to write (an empty .vecs file cannot be read back)");
  }
  if (dim == 0 || dim > kMaxDim) {
    return Status::InvalidArgument(Prefix(name) + "dimension " + std::to_string(dim) +
                                   " is outside 1.." + std::to_string(kMaxDim));
  }
  if (data == nullptr) return Status::InvalidArgument(Prefix(name) + "null data");
  return Status::Ok();
}

// bvecs stores bytes, so only exact integers 0..255 survive the round trip. Checked up front so
// that encoding itself cannot fail.
Status CheckByteValues(std::string_view name, MatrixView matrix) {
  for (size_t i = 0; i < matrix.rows; ++i) {
    const float* row = matrix.row(i);
    for (size_t j = 0; j < matrix.dim; ++j) {
      const float v = row[j];
      // Written so that NaN fails too.
      if (!(v >= 0.0f && v <= 255.0f && std::floor(v) == v)) {
        return Status::InvalidArgument(Prefix(name) + "row " + std::to_string(i) + ", component " +
                                       std::to_string(j) + ": value " + std::to_string(v) +
                                       " is not an integer in 0..255, which bvecs requires");
      }
    }
  }
  return Status::Ok();
}

// Encodes `rows` rows of `dim` values starting at `data` into `out`, which has room for them.
template <typename Disk, typename In>
void EncodeRows(const In* data, size_t rows, size_t dim, uint8_t* out) {
  const int32_t declared = static_cast<int32_t>(dim);  // dim <= kMaxDim, checked
  const size_t row_bytes = kDimFieldBytes + dim * sizeof(Disk);
  for (size_t i = 0; i < rows; ++i) {
    uint8_t* row = out + i * row_bytes;
    std::memcpy(row, &declared, kDimFieldBytes);
    const In* src = data + i * dim;
    if constexpr (std::is_same_v<Disk, In>) {
      std::memcpy(row + kDimFieldBytes, src, dim * sizeof(Disk));
    } else {
      // float -> uint8 (bvecs); values were checked to be integers 0..255.
      for (size_t j = 0; j < dim; ++j) row[kDimFieldBytes + j] = static_cast<Disk>(src[j]);
    }
  }
}

template <typename Disk, typename In>
Result<std::vector<uint8_t>> EncodeVecs(const In* data, size_t rows, size_t dim) {
  VECDEX_RETURN_IF_ERROR(CheckMatrix("matrix", data, rows, dim));
  const size_t row_bytes = kDimFieldBytes + dim * sizeof(Disk);
  std::vector<uint8_t> out;
  VECDEX_RETURN_IF_ERROR(internal::AllocateValues("matrix", rows * row_bytes, out));
  EncodeRows<Disk>(data, rows, dim, out.data());
  return out;
}

template <typename Disk, typename In>
Status WriteVecs(const std::string& path, const In* data, size_t rows, size_t dim) {
  const size_t row_bytes = kDimFieldBytes + dim * sizeof(Disk);
  const size_t chunk_rows = std::max<size_t>(1, kChunkBytes / row_bytes);
  std::vector<uint8_t> chunk;
  VECDEX_RETURN_IF_ERROR(
      internal::AllocateValues(path, std::min(chunk_rows, rows) * row_bytes, chunk));
  VECDEX_ASSIGN_OR_RETURN(internal::OutputFile file, internal::OutputFile::Create(path));
  for (size_t row = 0; row < rows; row += chunk_rows) {
    const size_t n = std::min(chunk_rows, rows - row);
    EncodeRows<Disk>(data + row * dim, n, dim, chunk.data());
    VECDEX_RETURN_IF_ERROR(file.Append(chunk.data(), n * row_bytes));
  }
  return file.Commit();
}

}  // namespace

Result<FloatDataset> ReadFvecs(const std::string& path, size_t max_rows) {
  return ReadVecs<float, FloatDataset>(path, max_rows);
}
Result<IntDataset> ReadIvecs(const std::string& path, size_t max_rows) {
  return ReadVecs<int32_t, IntDataset>(path, max_rows);
}
Result<FloatDataset> ReadBvecs(const std::string& path, size_t max_rows) {
  return ReadVecs<uint8_t, FloatDataset>(path, max_rows);
}

Result<FloatDataset> ParseFvecs(std::span<const uint8_t> bytes, std::string_view name,
                                size_t max_rows) {
  return ParseVecs<float, FloatDataset>(bytes, name, max_rows);
}
Result<IntDataset> ParseIvecs(std::span<const uint8_t> bytes, std::string_view name,
                              size_t max_rows) {
  return ParseVecs<int32_t, IntDataset>(bytes, name, max_rows);
}
Result<FloatDataset> ParseBvecs(std::span<const uint8_t> bytes, std::string_view name,
                                size_t max_rows) {
  return ParseVecs<uint8_t, FloatDataset>(bytes, name, max_rows);
}

Status WriteFvecs(const std::string& path, MatrixView matrix) {
  VECDEX_RETURN_IF_ERROR(CheckMatrix(path, matrix.data, matrix.rows, matrix.dim));
  return WriteVecs<float>(path, matrix.data, matrix.rows, matrix.dim);
}
Status WriteIvecs(const std::string& path, IntMatrixView matrix) {
  VECDEX_RETURN_IF_ERROR(CheckMatrix(path, matrix.data, matrix.rows, matrix.dim));
  return WriteVecs<int32_t>(path, matrix.data, matrix.rows, matrix.dim);
}
Status WriteBvecs(const std::string& path, MatrixView matrix) {
  VECDEX_RETURN_IF_ERROR(CheckMatrix(path, matrix.data, matrix.rows, matrix.dim));
  VECDEX_RETURN_IF_ERROR(CheckByteValues(path, matrix));
  return WriteVecs<uint8_t>(path, matrix.data, matrix.rows, matrix.dim);
}

Result<std::vector<uint8_t>> EncodeFvecs(MatrixView matrix) {
  return EncodeVecs<float>(matrix.data, matrix.rows, matrix.dim);
}
Result<std::vector<uint8_t>> EncodeIvecs(IntMatrixView matrix) {
  return EncodeVecs<int32_t>(matrix.data, matrix.rows, matrix.dim);
}
Result<std::vector<uint8_t>> EncodeBvecs(MatrixView matrix) {
  VECDEX_RETURN_IF_ERROR(CheckMatrix("matrix", matrix.data, matrix.rows, matrix.dim));
  VECDEX_RETURN_IF_ERROR(CheckByteValues("matrix", matrix));
  return EncodeVecs<uint8_t>(matrix.data, matrix.rows, matrix.dim);
}

}  // namespace vecdex::io
