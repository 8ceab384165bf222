#include "db_util.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <limits>

#include "io/npy_io.h"
#include "io/vecs_io.h"

namespace vecdex::cli {

void ReportError(std::string_view command, const Status& status, int* exit_code) {
  std::cerr << "vecdex " << command << ": " << status.ToString() << "\n";
  *exit_code = kExitFailure;
}

DatabaseOptions CliDatabaseOptions() {
  DatabaseOptions options;
  // Explicit rather than relying on the default, so the CLI's messages look the same everywhere.
  options.log = [](std::string_view message) { std::cerr << "vecdex: " << message << "\n"; };
  return options;
}

Result<std::unique_ptr<Database>> OpenExistingDatabase(const std::string& dir, DatabaseOptions options) {
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error)) {
    return Status::NotFound(dir + ": no database directory there");
  }
  options.create = false;
  return Database::Open(dir, options);
}

std::optional<SyncPolicy> ParseSyncPolicy(std::string_view name) {
  if (name == "batch") return SyncPolicy::kEveryBatch;
  if (name == "interval") return SyncPolicy::kInterval;
  return std::nullopt;
}

std::string_view SyncPolicyName(SyncPolicy sync) {
  switch (sync) {
    case SyncPolicy::kEveryBatch:
      return "batch";
    case SyncPolicy::kInterval:
      return "interval";
  }
  return "unknown";
}

nlohmann::json KeyToJson(const PointKey& key) {
  if (key.is_int()) return nlohmann::json(key.int_value());
  return nlohmann::json(key.string_value());
}

Result<PointKey> KeyFromJson(const nlohmann::json& value) {
  PointKey key;
  if (value.is_number_unsigned()) {
    key = PointKey::Int(value.get<uint64_t>());
  } else if (value.is_string()) {
    key = PointKey::String(value.get<std::string>());
  } else if (value.is_number_integer()) {
    return Status::InvalidArgument("id " + value.dump() + " is negative (integer ids are unsigned 64-bit)");
  } else {
    return Status::InvalidArgument("id must be an unsigned 64-bit integer or a string, not " + value.dump());
  }
  VECDEX_RETURN_IF_ERROR(ValidatePointKey(key));
  return key;
}

Result<std::vector<PointKey>> ParseKeyList(std::string_view text) {
  std::vector<PointKey> keys;
  const size_t first = text.find_first_not_of(" \t");
  if (first != std::string_view::npos && text[first] == '[') {
    nlohmann::json array;
    try {
      array = nlohmann::json::parse(text);
    } catch (const std::exception& e) {
      return Status::InvalidArgument("key list is not valid JSON: " + JsonErrorMessage(e));
    }
    for (const auto& item : array) {
      Result<PointKey> key = KeyFromJson(item);
      if (!key.ok()) return key.status().WithContext("key list");
      keys.push_back(std::move(key).value());
    }
    return keys;
  }
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view item = text.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) return Status::InvalidArgument("key list has an empty item: '" + std::string(text) + "'");
    const bool digits = item.find_first_not_of("0123456789") == std::string_view::npos;
    PointKey key;
    if (digits) {
      errno = 0;
      char* parse_end = nullptr;
      const std::string owned(item);
      const unsigned long long value = std::strtoull(owned.c_str(), &parse_end, 10);
      if (errno == ERANGE) return Status::InvalidArgument("key " + owned + " does not fit in 64 bits");
      key = PointKey::Int(value);
    } else {
      key = PointKey::String(std::string(item));
      VECDEX_RETURN_IF_ERROR(ValidatePointKey(key));
    }
    keys.push_back(std::move(key));
    start = end + 1;
  }
  return keys;
}

Result<std::vector<float>> VectorFromJson(const nlohmann::json& value, std::string_view what) {
  if (!value.is_array()) {
    return Status::InvalidArgument(std::string(what) + " must be an array of numbers, not " +
                                   std::string(value.type_name()));
  }
  if (value.empty()) return Status::InvalidArgument(std::string(what) + " is empty");
  std::vector<float> vector;
  vector.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    const nlohmann::json& component = value[i];
    if (!component.is_number()) {
      return Status::InvalidArgument(std::string(what) + "[" + std::to_string(i) + "] is " +
                                     std::string(component.type_name()) + ", not a number");
    }
    const float f = static_cast<float>(component.get<double>());
    if (!std::isfinite(f)) {
      return Status::InvalidArgument(std::string(what) + "[" + std::to_string(i) + "] = " + component.dump() +
                                     " is not a finite float32");
    }
    vector.push_back(f);
  }
  return vector;
}

Result<io::FloatDataset> ReadVectorFile(const std::string& path) {
  const std::string extension = std::filesystem::path(path).extension().string();
  if (extension == ".fvecs") return io::ReadFvecs(path);
  if (extension == ".bvecs") return io::ReadBvecs(path);
  if (extension == ".npy") return io::ReadNpy(path);
  return Status::InvalidArgument(path + ": unknown vector file type '" + extension +
                                 "' (expected .fvecs, .bvecs or .npy)");
}

double FloatForJson(float value) {
  char text[32];
  const std::to_chars_result end = std::to_chars(text, text + sizeof(text) - 1, value);
  *end.ptr = '\0';
  return std::strtod(text, nullptr);
}

std::string FormatBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f %s", value, kUnits[unit]);
  return text;
}

std::string FormatCount(uint64_t value) {
  std::string digits = std::to_string(value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string FormatSeconds(double seconds) {
  char text[32];
  if (seconds >= 1) {
    std::snprintf(text, sizeof(text), "%.2f s", seconds);
  } else if (seconds >= 1e-3) {
    std::snprintf(text, sizeof(text), "%.2f ms", seconds * 1e3);
  } else {
    std::snprintf(text, sizeof(text), "%.0f us", seconds * 1e6);
  }
  return text;
}

std::string JsonErrorMessage(const std::exception& error) {
  std::string message = error.what();
  if (message.rfind("[json.exception.", 0) == 0) {
    const size_t close = message.find("] ");
    if (close != std::string::npos) message.erase(0, close + 2);
  }
  return message;
}

}  // namespace vecdex::cli
