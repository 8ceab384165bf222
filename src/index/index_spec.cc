#include "index/index_spec.h"

#include <cctype>
#include <charconv>

namespace vecdex {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<IndexSpec> IndexSpec::Parse(std::string_view text) {
  IndexSpec spec;
  const size_t colon = text.find(':');
  spec.kind_ = Lower(Trim(text.substr(0, colon)));
  if (spec.kind_.empty()) return Status::InvalidArgument("index spec '" + std::string(text) + "' has no kind");
  if (colon == std::string_view::npos) return spec;
  std::string_view rest = text.substr(colon + 1);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view item = Trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument("index spec option '" + std::string(item) + "' has no '='");
    }
    std::string key = Lower(Trim(item.substr(0, eq)));
    std::string value(Trim(item.substr(eq + 1)));
    if (key.empty() || value.empty()) {
      return Status::InvalidArgument("index spec option '" + std::string(item) + "' is incomplete");
    }
    if (!spec.options_.emplace(key, std::move(value)).second) {
      return Status::InvalidArgument("index spec option '" + key + "' is given twice");
    }
  }
  return spec;
}

Result<size_t> IndexSpec::TakeSize(std::string_view key, size_t fallback, size_t min, size_t max) {
  auto it = options_.find(std::string(key));
  if (it == options_.end()) return fallback;
  const std::string value = it->second;
  options_.erase(it);
  size_t parsed = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (ec != std::errc() || end != value.data() + value.size()) {
    return Status::InvalidArgument(kind_ + " option " + std::string(key) + "=" + value + " is not a number");
  }
  if (parsed < min || parsed > max) {
    return Status::InvalidArgument(kind_ + " option " + std::string(key) + "=" + value + " is outside [" +
                                   std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return parsed;
}

Result<std::string> IndexSpec::TakeString(std::string_view key, std::string fallback) {
  auto it = options_.find(std::string(key));
  if (it == options_.end()) return fallback;
  std::string value = it->second;
  options_.erase(it);
  return value;
}

Result<bool> IndexSpec::TakeBool(std::string_view key, bool fallback) {
  auto it = options_.find(std::string(key));
  if (it == options_.end()) return fallback;
  const std::string value = Lower(it->second);
  options_.erase(it);
  if (value == "1" || value == "true" || value == "yes" || value == "on") return true;
  if (value == "0" || value == "false" || value == "no" || value == "off") return false;
  return Status::InvalidArgument(kind_ + " option " + std::string(key) + "=" + value + " is not a boolean");
}

Status IndexSpec::CheckAllConsumed() const {
  if (options_.empty()) return Status::Ok();
  std::string names;
  for (const auto& [key, value] : options_) names += (names.empty() ? "" : ", ") + key;
  return Status::InvalidArgument("unknown option(s) for index kind '" + kind_ + "': " + names);
}

}  // namespace vecdex
