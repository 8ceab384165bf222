// FieldPath parsing and walking (see json_path.h).
#include "filter/json_path.h"

#include <limits>
#include <string>

#include "filter/json_walk.h"

namespace vecdex::filter {
namespace {

Status PathError(std::string_view text, std::string_view what) {
  std::string message;  // appended piecewise: `"\"" + std::string(...)` trips GCC 12's -Wrestrict
  message.reserve(text.size() + what.size() + 4);
  message.append("\"").append(text).append("\": ").append(what);
  return Status::InvalidArgument(std::move(message));
}

}  // namespace

Result<FieldPath> ParseFieldPath(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("empty key");
  FieldPath path;
  path.text = std::string(text);
  size_t pos = 0;
  const size_t n = text.size();
  while (true) {
    // A segment: a name, then brackets.
    const size_t name_start = pos;
    while (pos < n && text[pos] != '.' && text[pos] != '[' && text[pos] != ']') {
      if (text[pos] == '"') return PathError(text, "quoted keys are not supported");
      ++pos;
    }
    if (pos == name_start) {
      return PathError(text, pos == 0 ? "starts with '" + std::string(1, text[pos]) + "', expected a field name"
                                      : "empty field name at byte " + std::to_string(pos));
    }
    bool first_bracket = true;
    path.steps.push_back({std::string(text.substr(name_start, pos - name_start)), false, std::nullopt});
    while (pos < n && text[pos] == '[') {
      if (!first_bracket) path.steps.push_back({});
      first_bracket = false;
      FieldPath::Step& step = path.steps.back();
      ++pos;
      if (pos < n && text[pos] == ']') {
        step.flatten = true;
        ++pos;
        continue;
      }
      const size_t digits_start = pos;
      uint64_t index = 0;
      while (pos < n && text[pos] >= '0' && text[pos] <= '9') {
        const uint64_t digit = static_cast<uint64_t>(text[pos] - '0');
        if (index > (std::numeric_limits<uint32_t>::max() - digit) / 10) {
          return PathError(text, "array index too large at byte " + std::to_string(digits_start));
        }
        index = index * 10 + digit;
        ++pos;
      }
      if (pos == digits_start || pos >= n || text[pos] != ']') {
        return PathError(text, "expected \"[]\" or \"[<index>]\" at byte " + std::to_string(digits_start - 1));
      }
      ++pos;
      step.index = static_cast<size_t>(index);
    }
    if (path.steps.size() > kMaxFieldPathSteps) {
      return PathError(text, "more than " + std::to_string(kMaxFieldPathSteps) + " steps");
    }
    if (pos == n) break;
    if (text[pos] == ']') return PathError(text, "unexpected ']' at byte " + std::to_string(pos));
    if (text[pos] != '.') {
      return PathError(text, "expected '.' or '[' at byte " + std::to_string(pos));
    }
    ++pos;  // '.'
    if (pos == n) return PathError(text, "ends with '.'");
  }
  return path;
}

void ForEachValue(const nlohmann::json& payload, const FieldPath& path,
                  const std::function<void(const nlohmann::json&)>& fn) {
  internal::VisitValues(payload, path, [&fn](const nlohmann::json& value) {
    fn(value);
    return false;
  });
}

}  // namespace vecdex::filter
