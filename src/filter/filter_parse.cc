// ParseFilter: JSON text -> Filter, validating everything once so that evaluation never fails.
//
// Errors name their place as a path into the filter ("filter.must[1].range.gt: ..."). Null-valued
// fields count as absent, as Qdrant's clients send them ("should": null, "gt": null); any other
// field we do not know is an error rather than being ignored.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "filter/json_path.h"

namespace vecdex {
namespace {

using Json = nlohmann::json;

// Deepest JSON nesting a filter within kMaxFilterDepth needs: a nested condition costs four
// levels (filter, clause array, condition, "nested" object), the innermost condition three more.
// Deeper text is rejected before nlohmann's parser sees it.
constexpr size_t kMaxJsonDepth = 4 * kMaxFilterDepth + 8;
// Largest values_count bound: exactly representable as a double, so it round-trips.
constexpr uint64_t kMaxValuesCount = uint64_t{1} << 53;

Status Error(const std::string& location, const std::string& what) {
  return Status::InvalidArgument(location + ": " + what);
}

// A JSON value for messages: `"abc"`, `1.5`, `{"a":1}`, cut after 40 bytes.
std::string Describe(const Json& value) {
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

std::string Got(const Json& value) { return "got " + Describe(value); }

// Rejects text whose brackets nest deeper than kMaxJsonDepth (outside strings).
Status CheckJsonDepth(std::string_view text) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxJsonDepth) {
        return Error("filter", "nested deeper than " + std::to_string(kMaxJsonDepth) +
                                   " JSON levels (filters may nest " + std::to_string(kMaxFilterDepth) + " levels)");
      }
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return Status::Ok();
}

bool IsOneOf(const std::string& key, std::initializer_list<const char*> names) {
  return std::any_of(names.begin(), names.end(), [&](const char* n) { return key == n; });
}

class FilterParser {
 public:
  Status ParseFilterObject(const Json& j, const std::string& loc, size_t depth, bool in_nested, Filter* out);

 private:
  Status ParseClause(const Json& j, const std::string& loc, size_t depth, bool in_nested,
                     std::vector<Condition>* out);
  Status ParseCondition(const Json& j, const std::string& loc, size_t depth, bool in_nested, Condition* out);
  Status ParseFieldCondition(const Json& j, const std::string& loc, FieldCondition* out);
  Status ParseMatch(const Json& j, const std::string& loc, FieldCondition* out);
  Status ParseRange(const Json& j, const std::string& loc, bool counts, RangeBounds* out);
  Status ParseKeyObject(const Json& j, const std::string& loc, FieldPath* out);
  Status ParseHasId(const Json& j, const std::string& loc, bool in_nested, HasIdCondition* out);
  Status ParseNested(const Json& j, const std::string& loc, size_t depth, NestedCondition* out);
  Status ParseMinShould(const Json& j, const std::string& loc, size_t depth, bool in_nested, MinShould* out);
  Status ParseSubFilter(const Json& j, const std::string& loc, size_t depth, bool in_nested,
                        std::shared_ptr<const Filter>* out);

  size_t num_conditions_ = 0;
};

Status ParsePath(const Json& j, const std::string& loc, FieldPath* out) {
  if (!j.is_string()) return Error(loc, "expected a string, " + Got(j));
  Result<FieldPath> path = filter::ParseFieldPath(j.get_ref<const std::string&>());
  if (!path.ok()) return path.status().WithContext(loc);
  *out = std::move(path).value();
  return Status::Ok();
}

Status ParseMatchValue(const Json& j, const std::string& loc, MatchValue* out) {
  if (j.is_string()) {
    *out = j.get<std::string>();
  } else if (j.is_boolean()) {
    *out = j.get<bool>();
  } else if (j.is_number_unsigned()) {
    const uint64_t v = j.get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Error(loc, "integer " + Describe(j) + " is out of the 64-bit signed range");
    }
    *out = static_cast<int64_t>(v);
  } else if (j.is_number_integer()) {
    *out = j.get<int64_t>();
  } else if (j.is_number_float()) {
    return Error(loc, "expected a string, an integer or a bool, " + Got(j) + " (match does not compare floats; use range)");
  } else {
    return Error(loc, "expected a string, an integer or a bool, " + Got(j));
  }
  return Status::Ok();
}

Status FilterParser::ParseFilterObject(const Json& j, const std::string& loc, size_t depth, bool in_nested,
                                       Filter* out) {
  if (!j.is_object()) return Error(loc, "expected a filter object, " + Got(j));
  for (const auto& [key, value] : j.items()) {
    if (value.is_null()) continue;  // Qdrant's clients send absent clauses as null
    const std::string where = loc + "." + key;
    if (key == "must") {
      VECDEX_RETURN_IF_ERROR(ParseClause(value, where, depth, in_nested, &out->must));
    } else if (key == "should") {
      VECDEX_RETURN_IF_ERROR(ParseClause(value, where, depth, in_nested, &out->should));
    } else if (key == "must_not") {
      VECDEX_RETURN_IF_ERROR(ParseClause(value, where, depth, in_nested, &out->must_not));
    } else if (key == "min_should") {
      out->min_should.emplace();
      VECDEX_RETURN_IF_ERROR(ParseMinShould(value, where, depth, in_nested, &*out->min_should));
    } else {
      return Error(where, "unknown clause (expected must, should, must_not or min_should)");
    }
  }
  return Status::Ok();
}

Status FilterParser::ParseClause(const Json& j, const std::string& loc, size_t depth, bool in_nested,
                                 std::vector<Condition>* out) {
  if (j.is_object()) {  // Qdrant accepts one condition in place of a list
    out->emplace_back();
    return ParseCondition(j, loc, depth, in_nested, &out->back());
  }
  if (!j.is_array()) return Error(loc, "expected an array of conditions or a condition object, " + Got(j));
  out->reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    out->emplace_back();
    VECDEX_RETURN_IF_ERROR(ParseCondition(j[i], loc + "[" + std::to_string(i) + "]", depth, in_nested, &out->back()));
  }
  return Status::Ok();
}

Status FilterParser::ParseCondition(const Json& j, const std::string& loc, size_t depth, bool in_nested,
                                    Condition* out) {
  if (++num_conditions_ > kMaxFilterConditions) {
    return Error(loc, "more than " + std::to_string(kMaxFilterConditions) + " conditions in the filter");
  }
  if (!j.is_object()) return Error(loc, "expected a condition object, " + Got(j));
  bool has_key = false;
  std::vector<std::string> field_ops, kinds, clauses;
  for (const auto& [key, value] : j.items()) {
    if (value.is_null()) continue;
    if (key == "key") {
      has_key = true;
    } else if (IsOneOf(key, {"match", "range", "values_count"})) {
      field_ops.push_back(key);
    } else if (IsOneOf(key, {"is_empty", "is_null", "has_id", "nested"})) {
      kinds.push_back(key);
    } else if (IsOneOf(key, {"must", "should", "must_not", "min_should"})) {
      clauses.push_back(key);
    } else if (IsOneOf(key, {"geo_bounding_box", "geo_radius", "geo_polygon", "has_vector", "datetime_range"})) {
      return Error(loc + "." + key, "condition not supported");
    } else {
      return Error(loc + "." + key, "unknown field (expected a field condition {\"key\", \"match\"|\"range\"|"
                                    "\"values_count\"}, is_empty, is_null, has_id, nested or a filter)");
    }
  }
  std::vector<std::string> operators = field_ops;
  operators.insert(operators.end(), kinds.begin(), kinds.end());
  if (!clauses.empty() && (has_key || !operators.empty())) {
    return Error(loc, "a condition is either a filter or one operator; got \"" + clauses.front() +
                          "\" together with \"" + (operators.empty() ? std::string("key") : operators.front()) + "\"");
  }
  if (operators.size() > 1) {
    return Error(loc, "a condition has one operator, got two: \"" + operators[0] + "\" and \"" + operators[1] + "\"");
  }
  if (!clauses.empty()) {
    // A filter used as a condition: one level deeper.
    std::shared_ptr<const Filter> sub;
    VECDEX_RETURN_IF_ERROR(ParseSubFilter(j, loc, depth, in_nested, &sub));
    *out = FilterCondition{std::move(sub)};
    return Status::Ok();
  }
  if (has_key || !field_ops.empty()) {
    if (!kinds.empty()) return Error(loc, "\"" + kinds.front() + "\" does not take a \"key\" beside it");
    if (!has_key) return Error(loc, "field condition without \"key\"");
    if (field_ops.empty()) {
      return Error(loc, "field condition has no operator (expected match, range or values_count)");
    }
    FieldCondition field;
    VECDEX_RETURN_IF_ERROR(ParseFieldCondition(j, loc, &field));
    *out = std::move(field);
    return Status::Ok();
  }
  if (kinds.empty()) {
    return Error(loc, "empty condition (expected a field condition, is_empty, is_null, has_id, nested or a filter)");
  }
  const std::string& kind = kinds.front();
  const std::string where = loc + "." + kind;
  const Json& value = j.at(kind);
  if (kind == "is_empty") {
    IsEmptyCondition c;
    VECDEX_RETURN_IF_ERROR(ParseKeyObject(value, where, &c.path));
    *out = std::move(c);
  } else if (kind == "is_null") {
    IsNullCondition c;
    VECDEX_RETURN_IF_ERROR(ParseKeyObject(value, where, &c.path));
    *out = std::move(c);
  } else if (kind == "has_id") {
    HasIdCondition c;
    VECDEX_RETURN_IF_ERROR(ParseHasId(value, where, in_nested, &c));
    *out = std::move(c);
  } else {
    NestedCondition c;
    VECDEX_RETURN_IF_ERROR(ParseNested(value, where, depth, &c));
    *out = std::move(c);
  }
  return Status::Ok();
}

Status FilterParser::ParseFieldCondition(const Json& j, const std::string& loc, FieldCondition* out) {
  VECDEX_RETURN_IF_ERROR(ParsePath(j.at("key"), loc + ".key", &out->path));
  for (const auto& [key, value] : j.items()) {
    if (value.is_null() || key == "key") continue;
    const std::string where = loc + "." + key;
    if (key == "match") {
      VECDEX_RETURN_IF_ERROR(ParseMatch(value, where, out));
    } else if (key == "range") {
      out->range.emplace();
      VECDEX_RETURN_IF_ERROR(ParseRange(value, where, /*counts=*/false, &*out->range));
    } else {
      out->values_count.emplace();
      VECDEX_RETURN_IF_ERROR(ParseRange(value, where, /*counts=*/true, &*out->values_count));
    }
  }
  return Status::Ok();
}

Status FilterParser::ParseMatch(const Json& j, const std::string& loc, FieldCondition* out) {
  if (!j.is_object()) return Error(loc, "expected an object {\"value\"|\"any\"|\"except\"|\"text\": ...}, " + Got(j));
  const char* chosen = nullptr;
  for (const auto& [key, value] : j.items()) {
    if (value.is_null()) continue;
    const std::string where = loc + "." + key;
    if (!IsOneOf(key, {"value", "any", "except", "text"})) {
      if (IsOneOf(key, {"phrase", "text_any", "keyword", "integer"})) return Error(where, "match kind not supported");
      return Error(where, "unknown match kind (expected value, any, except or text)");
    }
    if (chosen != nullptr) {
      return Error(loc, std::string("match has one kind, got two: \"") + chosen + "\" and \"" + key + "\"");
    }
    if (key == "value") {
      chosen = "value";
      MatchValue v;
      VECDEX_RETURN_IF_ERROR(ParseMatchValue(value, where, &v));
      out->match_value = std::move(v);
    } else if (key == "text") {
      chosen = "text";
      if (!value.is_string()) return Error(where, "expected a string, " + Got(value));
      out->match_text = value.get<std::string>();
    } else {
      const bool any = key == "any";
      chosen = any ? "any" : "except";
      if (!value.is_array()) return Error(where, "expected an array of strings, integers or bools, " + Got(value));
      if (any && value.empty()) return Error(where, "empty list (it would match nothing)");
      std::vector<MatchValue> values(value.size());
      for (size_t i = 0; i < value.size(); ++i) {
        VECDEX_RETURN_IF_ERROR(ParseMatchValue(value[i], where + "[" + std::to_string(i) + "]", &values[i]));
      }
      (any ? out->match_any : out->match_except) = std::move(values);
    }
  }
  if (chosen == nullptr) return Error(loc, "empty match (expected value, any, except or text)");
  return Status::Ok();
}

Status FilterParser::ParseRange(const Json& j, const std::string& loc, bool counts, RangeBounds* out) {
  if (!j.is_object()) return Error(loc, "expected an object with gt, gte, lt or lte, " + Got(j));
  bool any_bound = false;
  for (const auto& [key, value] : j.items()) {
    if (value.is_null()) continue;
    const std::string where = loc + "." + key;
    std::optional<double>* bound = key == "gt" ? &out->gt : key == "gte" ? &out->gte
                                 : key == "lt" ? &out->lt : key == "lte" ? &out->lte : nullptr;
    if (bound == nullptr) return Error(where, "unknown bound (expected gt, gte, lt or lte)");
    if (counts) {
      // Qdrant counts with unsigned integers.
      if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<int64_t>() >= 0)) {
        return Error(where, "expected a non-negative integer, " + Got(value));
      }
      const uint64_t v = value.get<uint64_t>();
      if (v > kMaxValuesCount) return Error(where, "larger than " + std::to_string(kMaxValuesCount));
      *bound = static_cast<double>(v);
    } else {
      if (!value.is_number()) return Error(where, "expected a number, " + Got(value));
      const double v = value.get<double>();
      if (!std::isfinite(v)) return Error(where, "expected a finite number, " + Got(value));
      *bound = v;
    }
    any_bound = true;
  }
  if (!any_bound) return Error(loc, "no bound (expected gt, gte, lt or lte)");
  return Status::Ok();
}

Status FilterParser::ParseKeyObject(const Json& j, const std::string& loc, FieldPath* out) {
  if (!j.is_object()) return Error(loc, "expected an object {\"key\": ...}, " + Got(j));
  for (const auto& [key, value] : j.items()) {
    if (key != "key") return Error(loc + "." + key, "unknown field (expected key)");
  }
  if (!j.contains("key")) return Error(loc, "missing \"key\"");
  return ParsePath(j.at("key"), loc + ".key", out);
}

Status FilterParser::ParseHasId(const Json& j, const std::string& loc, bool in_nested, HasIdCondition* out) {
  if (in_nested) return Error(loc, "not supported inside nested (put it beside the nested condition)");
  if (!j.is_array()) return Error(loc, "expected an array of point ids, " + Got(j));
  out->keys.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    const Json& id = j[i];
    const std::string where = loc + "[" + std::to_string(i) + "]";
    PointKey key;
    if (id.is_number_unsigned() || (id.is_number_integer() && id.get<int64_t>() >= 0)) {
      key = PointKey::Int(id.get<uint64_t>());
    } else if (id.is_string()) {
      key = PointKey::String(id.get<std::string>());
    } else {
      return Error(where, "expected an unsigned integer or a string, " + Got(id));
    }
    Status valid = ValidatePointKey(key);
    if (!valid.ok()) return valid.WithContext(where);
    out->keys.push_back(std::move(key));
  }
  // Sorted and unique, so that evaluation is a binary search.
  std::sort(out->keys.begin(), out->keys.end());
  out->keys.erase(std::unique(out->keys.begin(), out->keys.end()), out->keys.end());
  return Status::Ok();
}

Status FilterParser::ParseNested(const Json& j, const std::string& loc, size_t depth, NestedCondition* out) {
  if (!j.is_object()) return Error(loc, "expected an object {\"key\": ..., \"filter\": ...}, " + Got(j));
  for (const auto& [key, value] : j.items()) {
    if (key != "key" && key != "filter") return Error(loc + "." + key, "unknown field (expected key or filter)");
  }
  if (!j.contains("key") || j.at("key").is_null()) return Error(loc, "missing \"key\"");
  if (!j.contains("filter") || j.at("filter").is_null()) return Error(loc, "missing \"filter\"");
  VECDEX_RETURN_IF_ERROR(ParsePath(j.at("key"), loc + ".key", &out->path));
  return ParseSubFilter(j.at("filter"), loc + ".filter", depth, /*in_nested=*/true, &out->filter);
}

Status FilterParser::ParseMinShould(const Json& j, const std::string& loc, size_t depth, bool in_nested,
                                    MinShould* out) {
  if (!j.is_object()) return Error(loc, "expected an object {\"conditions\": [...], \"min_count\": n}, " + Got(j));
  for (const auto& [key, value] : j.items()) {
    if (key != "conditions" && key != "min_count") {
      return Error(loc + "." + key, "unknown field (expected conditions or min_count)");
    }
  }
  if (!j.contains("conditions") || j.at("conditions").is_null()) return Error(loc, "missing \"conditions\"");
  if (!j.contains("min_count") || j.at("min_count").is_null()) return Error(loc, "missing \"min_count\"");
  const Json& conditions = j.at("conditions");
  if (!conditions.is_array()) return Error(loc + ".conditions", "expected an array of conditions, " + Got(conditions));
  const Json& min_count = j.at("min_count");
  if (!min_count.is_number_unsigned() && !(min_count.is_number_integer() && min_count.get<int64_t>() >= 0)) {
    return Error(loc + ".min_count", "expected a non-negative integer, " + Got(min_count));
  }
  out->min_count = static_cast<size_t>(min_count.get<uint64_t>());
  out->conditions.resize(conditions.size());
  for (size_t i = 0; i < conditions.size(); ++i) {
    VECDEX_RETURN_IF_ERROR(ParseCondition(conditions[i], loc + ".conditions[" + std::to_string(i) + "]", depth,
                                          in_nested, &out->conditions[i]));
  }
  return Status::Ok();
}

Status FilterParser::ParseSubFilter(const Json& j, const std::string& loc, size_t depth, bool in_nested,
                                    std::shared_ptr<const Filter>* out) {
  // Checked before recursing, so that no input can exhaust the stack.
  if (depth + 1 > kMaxFilterDepth) {
    return Error(loc, "filters nested deeper than " + std::to_string(kMaxFilterDepth) + " levels");
  }
  auto sub = std::make_shared<Filter>();
  VECDEX_RETURN_IF_ERROR(ParseFilterObject(j, loc, depth + 1, in_nested, sub.get()));
  *out = std::move(sub);
  return Status::Ok();
}

}  // namespace

Result<Filter> ParseFilter(std::string_view json) {
  VECDEX_RETURN_IF_ERROR(CheckJsonDepth(json));
  Json j;
  try {
    j = Json::parse(json);
  } catch (const Json::exception& e) {  // parse_error, or out_of_range for numbers like 1e999
    std::string what = e.what();
    const size_t bracket = what.find("] ");
    if (what.rfind("[json.exception", 0) == 0 && bracket != std::string::npos) what = what.substr(bracket + 2);
    return Error("filter", "invalid JSON: " + what);
  } catch (const std::exception& e) {
    return Error("filter", std::string("invalid JSON: ") + e.what());
  }
  Filter filter;
  FilterParser parser;
  VECDEX_RETURN_IF_ERROR(parser.ParseFilterObject(j, "filter", 1, /*in_nested=*/false, &filter));
  return filter;
}

}  // namespace vecdex
