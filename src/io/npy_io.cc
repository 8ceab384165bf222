#include "io/npy_io.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "io/file_util.h"

namespace vecdex::io {
namespace {

constexpr uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
// Magic, two version bytes, and the largest header-length field (uint32 in versions 2 and 3).
constexpr size_t kMaxPreambleBytes = sizeof(kMagic) + 2 + 4;
// numpy itself refuses headers above 10000 bytes by default; real ones are about 128 bytes. The
// limit only stops a corrupt length from becoming a huge allocation.
constexpr size_t kMaxHeaderBytes = size_t{1} << 20;
// numpy pads the header so that the data starts at a multiple of 64 bytes.
constexpr size_t kHeaderAlignment = 64;
// numpy supports at most 64 dimensions; a longer shape tuple is garbage.
constexpr size_t kMaxShapeDims = 64;

std::string Prefix(std::string_view name) {
  std::string out(name);
  out += ": ";
  return out;
}

// Where the header dict is, from the fixed-size preamble before it.
struct Preamble {
  size_t header_offset = 0;  // bytes of magic + version + length field
  size_t header_bytes = 0;   // length of the dict text, padding and newline included
};

// `head` holds the first min(file_size, kMaxPreambleBytes) bytes of the file.
Result<Preamble> ParsePreamble(std::string_view name, std::span<const uint8_t> head,
                               uint64_t file_size) {
  if (file_size == 0) return Status::Corruption(Prefix(name) + "empty file");
  const size_t magic_bytes = std::min(head.size(), sizeof(kMagic));
  if (std::memcmp(head.data(), kMagic, magic_bytes) != 0) {
    return Status::Corruption(Prefix(name) + "not an npy file: bad magic (expected \"\\x93NUMPY\")");
  }
  if (head.size() < sizeof(kMagic) + 2) {
    return Status::Corruption(Prefix(name) + "truncated: file size " + std::to_string(file_size) +
                              " ends inside the npy preamble");
  }
  const uint8_t major = head[6];
  const uint8_t minor = head[7];
  if (major < 1 || major > 3 || minor != 0) {
    return Status::InvalidArgument(Prefix(name) + "unsupported npy version " +
                                   std::to_string(major) + "." + std::to_string(minor) +
                                   " (supported: 1.0, 2.0, 3.0)");
  }
  const size_t length_bytes = major == 1 ? 2 : 4;
  Preamble preamble;
  preamble.header_offset = sizeof(kMagic) + 2 + length_bytes;
  if (head.size() < preamble.header_offset) {
    return Status::Corruption(Prefix(name) + "truncated: file size " + std::to_string(file_size) +
                              " ends inside the npy preamble");
  }
  uint32_t length = 0;  // little-endian on disk, like the host (see dataset.h)
  std::memcpy(&length, head.data() + 8, length_bytes);
  preamble.header_bytes = length;
  if (preamble.header_offset + uint64_t{length} > file_size) {
    return Status::Corruption(Prefix(name) + "header length " + std::to_string(length) +
                              " at byte 8 extends beyond the end of the file (file size " +
                              std::to_string(file_size) + ")");
  }
  if (length > kMaxHeaderBytes) {
    return Status::Corruption(Prefix(name) + "header length " + std::to_string(length) +
                              " exceeds the limit of " + std::to_string(kMaxHeaderBytes) +
                              " bytes");
  }
  return preamble;
}

// What the header dict says, before the checks of what this reader supports.
struct HeaderFields {
  std::optional<std::string> descr;
  std::optional<bool> fortran_order;
  std::optional<std::vector<uint64_t>> shape;
};

// A recursive-descent parser for the header dict: just the subset of Python literals numpy
// writes (strings, True/False, tuples of non-negative integers), never an evaluator.
class HeaderParser {
 public:
  // `offset` is where `text` starts in the file, so errors can say which byte is wrong.
  HeaderParser(std::string_view name, std::string_view text, size_t offset)
      : name_(name), text_(text), offset_(offset) {}

  Result<HeaderFields> Parse() {
    HeaderFields fields;
    SkipSpace();
    if (!Consume('{')) return Error("expected '{'");
    while (true) {
      SkipSpace();
      if (Consume('}')) break;  // also ends a dict whose last entry has a trailing comma
      const size_t key_pos = pos_;
      VECDEX_ASSIGN_OR_RETURN(const std::string key, ParseString());
      SkipSpace();
      if (!Consume(':')) return Error("expected ':' after key '" + key + "'");
      SkipSpace();
      if (key == "descr" && !fields.descr) {
        VECDEX_ASSIGN_OR_RETURN(fields.descr, ParseDescr());
      } else if (key == "fortran_order" && !fields.fortran_order) {
        VECDEX_ASSIGN_OR_RETURN(fields.fortran_order, ParseBool());
      } else if (key == "shape" && !fields.shape) {
        VECDEX_ASSIGN_OR_RETURN(fields.shape, ParseShape());
      } else {
        pos_ = key_pos;
        const bool known = key == "descr" || key == "fortran_order" || key == "shape";
        return Error(known ? "duplicate key '" + key + "'" : "unexpected key '" + key + "'");
      }
      SkipSpace();
      if (Consume(',')) continue;
      if (Consume('}')) break;
      return Error("expected ',' or '}' after the value of '" + key + "'");
    }
    SkipSpace();  // numpy pads with spaces and ends with '\n'
    if (pos_ != text_.size()) return Error("unexpected text after the header dict");
    if (!fields.descr) return Error("missing key 'descr'");
    if (!fields.fortran_order) return Error("missing key 'fortran_order'");
    if (!fields.shape) return Error("missing key 'shape'");
    return fields;
  }

 private:
  Status Error(const std::string& what) const {
    return Status::Corruption(Prefix(name_) + "malformed npy header: " + what + " at byte " +
                              std::to_string(offset_ + pos_));
  }

  void SkipSpace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  bool ConsumeWord(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  // A quoted string without escapes ('...' or "..."): numpy never needs escapes here.
  Result<std::string> ParseString() {
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) {
      return Error("expected a quoted string");
    }
    const char quote = text_[pos_];
    const size_t start = ++pos_;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\') return Error("escape sequences are not supported");
      ++pos_;
    }
    if (pos_ >= text_.size()) return Error("unterminated string");
    std::string out(text_.substr(start, pos_ - start));
    ++pos_;
    return out;
  }

  Result<std::string> ParseDescr() {
    // A list here is a structured dtype: a valid file, just not a float matrix.
    if (pos_ < text_.size() && text_[pos_] == '[') {
      return Status::InvalidArgument(Prefix(name_) +
                                     "structured dtype is not supported: need float32 '<f4'");
    }
    return ParseString();
  }

  Result<bool> ParseBool() {
    if (ConsumeWord("True")) return true;
    if (ConsumeWord("False")) return false;
    return Error("expected True or False");
  }

  // "()", "(7,)", "(2, 3)", "(2, 3,)"; Python 2 era writers may add an 'L' suffix.
  Result<std::vector<uint64_t>> ParseShape() {
    if (!Consume('(')) return Error("expected '(' to start the shape tuple");
    std::vector<uint64_t> shape;
    while (true) {
      SkipSpace();
      if (Consume(')')) break;
      if (shape.size() == kMaxShapeDims) return Error("shape has too many dimensions");
      VECDEX_ASSIGN_OR_RETURN(const uint64_t value, ParseUnsigned());
      shape.push_back(value);
      SkipSpace();
      if (Consume(',')) continue;
      if (Consume(')')) break;
      return Error("expected ',' or ')' in the shape tuple");
    }
    return shape;
  }

  Result<uint64_t> ParseUnsigned() {
    if (pos_ >= text_.size() || text_[pos_] < '0' || text_[pos_] > '9') {
      return Error("expected a non-negative integer");
    }
    uint64_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const uint64_t digit = static_cast<uint64_t>(text_[pos_] - '0');
      if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
        return Error("integer too large");
      }
      value = value * 10 + digit;
      ++pos_;
    }
    if (pos_ < text_.size() && (text_[pos_] == 'L' || text_[pos_] == 'l')) ++pos_;
    return value;
  }

  std::string_view name_;
  std::string_view text_;
  size_t offset_;
  size_t pos_ = 0;
};

std::string ShapeText(const std::vector<uint64_t>& shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape[i]);
  }
  if (shape.size() == 1) out += ",";
  out += ")";
  return out;
}

// Where the data is and what it holds, once the header says "2-D C-order float32".
struct DataLayout {
  size_t rows = 0;
  size_t dim = 0;
  uint64_t data_offset = 0;
};

// Checks what this reader supports, and that the file holds exactly the data the shape needs.
Result<DataLayout> CheckHeader(std::string_view name, const HeaderFields& fields,
                               uint64_t data_offset, uint64_t file_size) {
  const std::string& descr = *fields.descr;
  if (descr != "<f4" && descr != "|f4") {
    return Status::InvalidArgument(
        Prefix(name) + "dtype '" + descr + "' is not supported: need little-endian float32 '<f4'" +
        (descr == ">f4" ? " (this file is big-endian)" : ""));
  }
  if (*fields.fortran_order) {
    return Status::InvalidArgument(Prefix(name) +
                                   "fortran_order is True: only C-order (row-major) arrays are "
                                   "supported");
  }
  const std::vector<uint64_t>& shape = *fields.shape;
  if (shape.size() != 2) {
    return Status::InvalidArgument(Prefix(name) + "shape " + ShapeText(shape) + " has " +
                                   std::to_string(shape.size()) +
                                   " dimensions: need a 2-D array (rows, dim)");
  }
  if (shape[1] == 0 || shape[1] > kMaxDim) {
    return Status::InvalidArgument(Prefix(name) + "shape " + ShapeText(shape) + ": dimension " +
                                   std::to_string(shape[1]) + " is outside 1.." +
                                   std::to_string(kMaxDim));
  }
  DataLayout layout;
  layout.dim = static_cast<size_t>(shape[1]);
  layout.data_offset = data_offset;
  const uint64_t row_bytes = layout.dim * sizeof(float);
  const uint64_t available = file_size - data_offset;  // ParsePreamble checked the header fits
  // Compared by division first: rows * row_bytes may not fit in 64 bits for a corrupt shape.
  if (shape[0] > available / row_bytes) {
    return Status::Corruption(Prefix(name) + "truncated data: shape " + ShapeText(shape) +
                              " needs " + std::to_string(shape[0]) + " x " +
                              std::to_string(row_bytes) + " bytes, but only " +
                              std::to_string(available) + " bytes follow the header at byte " +
                              std::to_string(data_offset));
  }
  const uint64_t expected = shape[0] * row_bytes;
  if (expected != available) {
    return Status::Corruption(Prefix(name) + "data size mismatch: shape " + ShapeText(shape) +
                              " needs " + std::to_string(expected) + " bytes, but " +
                              std::to_string(available) + " bytes follow the header at byte " +
                              std::to_string(data_offset));
  }
  layout.rows = static_cast<size_t>(shape[0]);
  return layout;
}

// Parses the header dict that follows `preamble` and checks it against the file size.
Result<DataLayout> ParseHeader(std::string_view name, const Preamble& preamble,
                               std::string_view dict, uint64_t file_size) {
  HeaderParser parser(name, dict, preamble.header_offset);
  VECDEX_ASSIGN_OR_RETURN(const HeaderFields fields, parser.Parse());
  return CheckHeader(name, fields, preamble.header_offset + preamble.header_bytes, file_size);
}

Status AllocateDataset(std::string_view name, const DataLayout& layout, size_t max_rows,
                       FloatDataset& out) {
  out.rows = max_rows == 0 ? layout.rows : std::min(layout.rows, max_rows);
  out.dim = layout.dim;
  // Cannot overflow: CheckHeader showed rows * dim * 4 <= the file size.
  return internal::AllocateValues(name, out.rows * out.dim, out.values);
}

std::string HeaderBlock(size_t rows, size_t dim) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
                     std::to_string(rows) + ", " + std::to_string(dim) + "), }";
  // Pad with spaces so magic + version + length + dict + '\n' is a multiple of 64.
  const size_t unpadded = sizeof(kMagic) + 2 + 2 + dict.size() + 1;
  dict.append((kHeaderAlignment - unpadded % kHeaderAlignment) % kHeaderAlignment, ' ');
  dict += '\n';
  std::string block(reinterpret_cast<const char*>(kMagic), sizeof(kMagic));
  block += '\x01';  // version 1.0: a 2-D float header is far below its 65535-byte limit
  block += '\x00';
  const uint16_t length = static_cast<uint16_t>(dict.size());
  block.append(reinterpret_cast<const char*>(&length), sizeof(length));
  block += dict;
  return block;
}

Status CheckMatrix(std::string_view name, MatrixView matrix) {
  if (matrix.dim == 0 || matrix.dim > kMaxDim) {
    return Status::InvalidArgument(Prefix(name) + "dimension " + std::to_string(matrix.dim) +
                                   " is outside 1.." + std::to_string(kMaxDim));
  }
  if (matrix.rows > 0 && matrix.data == nullptr) {
    return Status::InvalidArgument(Prefix(name) + "null data");
  }
  return Status::Ok();
}

}  // namespace

Result<FloatDataset> ParseNpy(std::span<const uint8_t> bytes, std::string_view name,
                              size_t max_rows) {
  VECDEX_ASSIGN_OR_RETURN(
      const Preamble preamble,
      ParsePreamble(name, bytes.first(std::min(bytes.size(), kMaxPreambleBytes)), bytes.size()));
  const std::string_view dict(reinterpret_cast<const char*>(bytes.data()) + preamble.header_offset,
                              preamble.header_bytes);
  VECDEX_ASSIGN_OR_RETURN(const DataLayout layout, ParseHeader(name, preamble, dict, bytes.size()));
  FloatDataset out;
  VECDEX_RETURN_IF_ERROR(AllocateDataset(name, layout, max_rows, out));
  if (!out.values.empty()) {
    std::memcpy(out.values.data(), bytes.data() + layout.data_offset,
                out.values.size() * sizeof(float));
  }
  return out;
}

Result<FloatDataset> ReadNpy(const std::string& path, size_t max_rows) {
  VECDEX_ASSIGN_OR_RETURN(const internal::InputFile file, internal::InputFile::Open(path));
  uint8_t head[kMaxPreambleBytes] = {};
  const size_t head_bytes =
      static_cast<size_t>(std::min<uint64_t>(file.size(), kMaxPreambleBytes));
  VECDEX_RETURN_IF_ERROR(file.ReadAt(0, head, head_bytes));
  VECDEX_ASSIGN_OR_RETURN(const Preamble preamble,
                          ParsePreamble(path, {head, head_bytes}, file.size()));
  std::string dict(preamble.header_bytes, '\0');  // at most kMaxHeaderBytes
  VECDEX_RETURN_IF_ERROR(file.ReadAt(preamble.header_offset, dict.data(), dict.size()));
  VECDEX_ASSIGN_OR_RETURN(const DataLayout layout, ParseHeader(path, preamble, dict, file.size()));
  FloatDataset out;
  VECDEX_RETURN_IF_ERROR(AllocateDataset(path, layout, max_rows, out));
  VECDEX_RETURN_IF_ERROR(
      file.ReadAt(layout.data_offset, out.values.data(), out.values.size() * sizeof(float)));
  return out;
}

Result<std::vector<uint8_t>> EncodeNpy(MatrixView matrix) {
  VECDEX_RETURN_IF_ERROR(CheckMatrix("matrix", matrix));
  const std::string header = HeaderBlock(matrix.rows, matrix.dim);
  const size_t data_bytes = matrix.rows * matrix.dim * sizeof(float);
  std::vector<uint8_t> out;
  VECDEX_RETURN_IF_ERROR(internal::AllocateValues("matrix", header.size() + data_bytes, out));
  std::memcpy(out.data(), header.data(), header.size());
  if (data_bytes > 0) std::memcpy(out.data() + header.size(), matrix.data, data_bytes);
  return out;
}

Status WriteNpy(const std::string& path, MatrixView matrix) {
  VECDEX_RETURN_IF_ERROR(CheckMatrix(path, matrix));
  const std::string header = HeaderBlock(matrix.rows, matrix.dim);
  VECDEX_ASSIGN_OR_RETURN(internal::OutputFile file, internal::OutputFile::Create(path));
  VECDEX_RETURN_IF_ERROR(file.Append(header.data(), header.size()));
  // The matrix is already the on-disk byte image: write it in place, no staging copy.
  VECDEX_RETURN_IF_ERROR(file.Append(matrix.data, matrix.rows * matrix.dim * sizeof(float)));
  return file.Commit();
}

}  // namespace vecdex::io
