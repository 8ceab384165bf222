// The out-of-line parts of include/vecdex/point.h. They live with the store, which is the first
// component that persists keys.
#include "vecdex/point.h"

#include <cstdio>

namespace vecdex {

namespace {

// Length of the UTF-8 sequence starting at s[i], or 0 if it is not a well-formed, shortest-form
// sequence (RFC 3629: no surrogates, nothing above U+10FFFF).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) return 1;
  size_t len;
  uint32_t min;
  uint32_t cp;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, min = 0x80, cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, min = 0x800, cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, min = 0x10000, cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

}  // namespace

Status ValidatePointKey(const PointKey& key) {
  if (key.is_int()) return Status::Ok();
  const std::string& s = key.string_value();
  if (s.empty()) return Status::InvalidArgument("string key is empty");
  if (s.size() > kMaxStringKeyBytes) {
    return Status::InvalidArgument("string key " + PointKeyToString(key) + " has " + std::to_string(s.size()) +
                                   " bytes, more than the limit of " + std::to_string(kMaxStringKeyBytes));
  }
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '\0') {
      return Status::InvalidArgument("string key " + PointKeyToString(key) + " contains a NUL byte at offset " +
                                     std::to_string(i));
    }
    const size_t len = Utf8SequenceLength(s, i);
    if (len == 0) {
      return Status::InvalidArgument("string key " + PointKeyToString(key) + " is not valid UTF-8 at byte " +
                                     std::to_string(i));
    }
    i += len;
  }
  return Status::Ok();
}

std::string PointKeyToString(const PointKey& key) {
  if (key.is_int()) return std::to_string(key.int_value());
  constexpr size_t kMaxShown = 64;
  const std::string& s = key.string_value();
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kMaxShown; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);  // printable ASCII and UTF-8 bytes pass through
    }
  }
  if (s.size() > kMaxShown) out += "...";
  out += '"';
  return out;
}

}  // namespace vecdex
