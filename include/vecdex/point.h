// Points: what a collection holds. A point is a key chosen by the user, a vector and an optional
// JSON payload.
//
// Keys are either unsigned 64-bit integers or strings (UUIDs and any other text). Their order,
// used by scrolling, is: every integer key ascending, then every string key in byte order
// (memcmp on the UTF-8 bytes). PointKey and Point are plain values: concurrent const access is
// safe, any write needs exclusive access.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "vecdex/status.h"

namespace vecdex {

// Longest string key, in bytes. Long enough for UUIDs, URLs and composite ids; short enough that
// keys stay cheap to index and to log.
inline constexpr size_t kMaxStringKeyBytes = 256;

class PointKey {
 public:
  // The integer key 0.
  PointKey() = default;
  static PointKey Int(uint64_t value) { return PointKey(value); }
  static PointKey String(std::string value) { return PointKey(std::move(value)); }

  bool is_int() const { return std::holds_alternative<uint64_t>(value_); }
  bool is_string() const { return !is_int(); }
  // Accessing the wrong kind is a bug (std::get aborts through bad_variant_access).
  uint64_t int_value() const { return std::get<uint64_t>(value_); }
  const std::string& string_value() const { return std::get<std::string>(value_); }

  // Integers before strings; integers ascending; strings in byte order (std::string compares
  // through char_traits<char>, which orders bytes as unsigned char, like memcmp and SQLite's
  // BINARY collation).
  friend bool operator==(const PointKey&, const PointKey&) = default;
  friend std::strong_ordering operator<=>(const PointKey& a, const PointKey& b) {
    if (a.value_.index() != b.value_.index()) return a.value_.index() <=> b.value_.index();
    if (a.is_int()) return a.int_value() <=> b.int_value();
    const int c = a.string_value().compare(b.string_value());
    return c < 0 ? std::strong_ordering::less
                 : (c > 0 ? std::strong_ordering::greater : std::strong_ordering::equal);
  }

 private:
  explicit PointKey(uint64_t value) : value_(value) {}
  explicit PointKey(std::string value) : value_(std::move(value)) {}

  std::variant<uint64_t, std::string> value_;
};

// OK for every integer key. A string key must be 1..kMaxStringKeyBytes bytes of valid UTF-8
// without NUL bytes, so that it round-trips through JSON, HTTP and the sqlite3 shell unchanged.
// Errors: InvalidArgument saying which rule is broken.
[[nodiscard]] Status ValidatePointKey(const PointKey& key);

// For messages: `42` for an integer key, `"abc"` (quoted, non-printable bytes escaped as \xNN,
// cut after 64 bytes) for a string key.
std::string PointKeyToString(const PointKey& key);

// One point. `payload_json` is a JSON object as text, or empty for "no payload".
struct Point {
  PointKey key;
  std::vector<float> vector;
  std::string payload_json;
};

}  // namespace vecdex
