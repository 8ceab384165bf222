// Parsing of index spec strings ("hnsw:m=16,ef_construction=200,storage=int8"), in one place for
// the CLI, the HTTP API and Python.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "vecdex/status.h"

namespace vecdex {

// kind + key=value options. Keys are lower case; each key appears at most once.
class IndexSpec {
 public:
  // Errors: InvalidArgument naming the malformed part ("hnsw:m" has no '=', empty kind, ...).
  static Result<IndexSpec> Parse(std::string_view text);

  const std::string& kind() const { return kind_; }
  const std::map<std::string, std::string>& options() const { return options_; }

  // Reads an option, removing it from the set still to be consumed. Missing keys keep
  // `fallback`. Errors: InvalidArgument when the value is not a number in [min, max].
  Result<size_t> TakeSize(std::string_view key, size_t fallback, size_t min, size_t max);
  Result<std::string> TakeString(std::string_view key, std::string fallback);
  Result<bool> TakeBool(std::string_view key, bool fallback);
  // InvalidArgument listing the options no Take* consumed (unknown keys for this kind).
  Status CheckAllConsumed() const;

 private:
  std::string kind_;
  std::map<std::string, std::string> options_;
};

// Largest dimension any index accepts (int8 kernels are exact up to 65536).
inline constexpr size_t kMaxDimension = 65536;

}  // namespace vecdex
