#include "common/file_header.h"

#include <algorithm>
#include <cstring>

#include "common/coding.h"
#include "common/crc32c.h"

namespace vecdex {

Status CheckFileHeader(const uint8_t* data, uint64_t size, const char* magic, uint32_t version,
                       uint32_t header_bytes, const std::string& kind, const std::string& path) {
  constexpr uint32_t kMinHeader = 16;
  constexpr uint32_t kMaxHeader = 65536;
  const std::string where = kind + " " + path + ": ";
  // The magic first, even on a short file: "not this kind" says more than "truncated".
  if (size == 0) return Status::Corruption(where + "truncated: the file is empty");
  if (std::memcmp(data, magic, std::min<uint64_t>(size, 8)) != 0) {
    return Status::Corruption(where + "bad magic: not a " + kind);
  }
  if (size < kMinHeader) {
    return Status::Corruption(where + "truncated: the header needs " + std::to_string(header_bytes) +
                              " bytes, the file has " + std::to_string(size));
  }
  const uint32_t file_header_bytes = coding::Get<uint32_t>(data + 12);
  if (file_header_bytes < kMinHeader || file_header_bytes > kMaxHeader || file_header_bytes % 4 != 0) {
    return Status::Corruption(where + "header: bad header size " + std::to_string(file_header_bytes));
  }
  if (size < file_header_bytes) {
    return Status::Corruption(where + "truncated: the header needs " + std::to_string(file_header_bytes) +
                              " bytes, the file has " + std::to_string(size));
  }
  const uint32_t crc_at = file_header_bytes - 4;
  if (coding::Get<uint32_t>(data + crc_at) != Crc32c(data, crc_at)) {
    return Status::Corruption(where + "checksum mismatch in header");
  }
  // A checksummed header with another version is a real file this build cannot read.
  const uint32_t file_version = coding::Get<uint32_t>(data + 8);
  if (file_version != version) {
    return Status::FailedPrecondition(where + "format version " + std::to_string(file_version) +
                                      " is not supported (this build reads version " + std::to_string(version) +
                                      ")");
  }
  if (file_header_bytes != header_bytes) {
    return Status::Corruption(where + "header: size " + std::to_string(file_header_bytes) + ", version " +
                              std::to_string(version) + " has " + std::to_string(header_bytes));
  }
  return Status::Ok();
}

}  // namespace vecdex
