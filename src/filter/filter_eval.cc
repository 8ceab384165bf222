// Evaluating a parsed filter against one point's key and payload (Qdrant's semantics; see
// filter.h and json_path.h). The walk allocates nothing: paths were parsed once, values are
// visited in place.
//
// The values of a path are what the walk reaches, with an array reached at the end flattened one
// level (json_walk.h). Per condition, following Qdrant's payload checker:
//   match value/any  some value equals one given (string==string, integer==integer payload value
//                    only, so 3.0 never equals 3, bool==bool);
//   match except     some value is not null and equals none given (values of other types are not
//                    in the set); no values (missing, null, []) means no match;
//   match text       some string value contains the text (a substring test; no full-text index);
//   range            some number value (integer or float, compared as double) is in the range;
//   values_count     the number of non-null values, 0 for a missing field;
//   is_empty         every value before flattening is null or [] (so also: missing); [null] is
//                    not empty;
//   is_null          some value before flattening is null; [null] is an array, not null;
//   nested           some object among the values is, as a payload root, matched by the filter;
//   has_id           the point's key is one of the (sorted) keys.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include "filter/json_path.h"
#include "filter/json_walk.h"

namespace vecdex {
namespace filter {
namespace {

using internal::Json;

bool EqualsMatchValue(const Json& value, const MatchValue& match) {
  switch (match.index()) {
    case 0:
      return value.is_string() && value.get_ref<const std::string&>() == std::get<std::string>(match);
    case 1: {
      // Like Qdrant, an integer matches only integer payload values (3.0 is a float).
      const int64_t wanted = std::get<int64_t>(match);
      if (value.is_number_unsigned()) {
        const uint64_t stored = value.get<uint64_t>();
        return wanted >= 0 && stored == static_cast<uint64_t>(wanted);
      }
      return value.is_number_integer() && value.get<int64_t>() == wanted;
    }
    default:
      return value.is_boolean() && value.get<bool>() == std::get<bool>(match);
  }
}

bool InSet(const Json& value, const std::vector<MatchValue>& set) {
  return std::any_of(set.begin(), set.end(), [&](const MatchValue& m) { return EqualsMatchValue(value, m); });
}

bool InRange(double x, const RangeBounds& r) {
  return (!r.gt || x > *r.gt) && (!r.gte || x >= *r.gte) && (!r.lt || x < *r.lt) && (!r.lte || x <= *r.lte);
}

bool MatchesField(const FieldCondition& c, const Json& payload) {
  if (c.values_count) {
    // The number of non-null values at the path (arrays flattened); a missing field has 0.
    size_t count = 0;
    internal::VisitValues(payload, c.path, [&count](const Json& v) {
      count += v.is_null() ? 0 : 1;
      return false;
    });
    return InRange(static_cast<double>(count), *c.values_count);
  }
  if (c.match_value) {
    const MatchValue& m = *c.match_value;
    return internal::VisitValues(payload, c.path, [&m](const Json& v) { return EqualsMatchValue(v, m); });
  }
  if (c.match_any) {
    const auto& set = *c.match_any;
    return internal::VisitValues(payload, c.path, [&set](const Json& v) { return InSet(v, set); });
  }
  if (c.match_except) {
    // Qdrant: some value is not null and not in the set; a missing field does not match.
    const auto& set = *c.match_except;
    return internal::VisitValues(payload, c.path, [&set](const Json& v) { return !v.is_null() && !InSet(v, set); });
  }
  if (c.match_text) {
    const std::string& text = *c.match_text;
    return internal::VisitValues(payload, c.path, [&text](const Json& v) {
      return v.is_string() && v.get_ref<const std::string&>().find(text) != std::string::npos;
    });
  }
  if (c.range) {
    const RangeBounds& r = *c.range;
    return internal::VisitValues(payload, c.path, [&r](const Json& v) {
      return v.is_number() && InRange(v.get<double>(), r);
    });
  }
  return false;  // unreachable for parsed filters: every field condition has one operator
}

bool MatchesFilter(const Filter& filter, const PointKey& key, const Json& payload);

bool MatchesCondition(const Condition& condition, const PointKey& key, const Json& payload) {
  switch (condition.index()) {
    case 0:
      return MatchesField(std::get<FieldCondition>(condition), payload);
    case 1: {
      // Qdrant: every value at the path is null or [] (so also when there is none).
      const bool non_empty = internal::VisitRaw(payload, std::get<IsEmptyCondition>(condition).path, [](const Json& v) {
        return !(v.is_null() || (v.is_array() && v.empty()));
      });
      return !non_empty;
    }
    case 2:
      return internal::VisitRaw(payload, std::get<IsNullCondition>(condition).path,
                                [](const Json& v) { return v.is_null(); });
    case 3: {
      const auto& keys = std::get<HasIdCondition>(condition).keys;
      return std::binary_search(keys.begin(), keys.end(), key);  // sorted by the parser
    }
    case 4: {
      const auto& nested = std::get<NestedCondition>(condition);
      const Filter& sub = *nested.filter;
      // Each object in the array at the path is, on its own, the payload root of the sub-filter
      // (a lone object there counts as a one-element array; other elements never match).
      return internal::VisitValues(payload, nested.path, [&](const Json& element) {
        return element.is_object() && MatchesFilter(sub, key, element);
      });
    }
    default:
      return MatchesFilter(*std::get<FilterCondition>(condition).filter, key, payload);
  }
}

bool MatchesFilter(const Filter& filter, const PointKey& key, const Json& payload) {
  for (const Condition& c : filter.must) {
    if (!MatchesCondition(c, key, payload)) return false;
  }
  for (const Condition& c : filter.must_not) {
    if (MatchesCondition(c, key, payload)) return false;
  }
  if (!filter.should.empty()) {
    bool any = false;
    for (const Condition& c : filter.should) {
      if (MatchesCondition(c, key, payload)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  if (filter.min_should) {
    const MinShould& ms = *filter.min_should;
    size_t matched = 0;
    for (size_t i = 0; i < ms.conditions.size() && matched < ms.min_count; ++i) {
      // Stop early once the rest cannot reach min_count.
      if (matched + (ms.conditions.size() - i) < ms.min_count) break;
      if (MatchesCondition(ms.conditions[i], key, payload)) ++matched;
    }
    if (matched < ms.min_count) return false;
  }
  return true;
}

}  // namespace

bool Matches(const Filter& filter, const PointKey& key, const nlohmann::json& payload) {
  return MatchesFilter(filter, key, payload);
}

}  // namespace filter

Result<bool> FilterMatches(const Filter& filter, const PointKey& key, std::string_view payload_json) {
  if (payload_json.empty()) return filter::Matches(filter, key, nlohmann::json());
  nlohmann::json payload = nlohmann::json::parse(payload_json, nullptr, /*allow_exceptions=*/false);
  if (payload.is_discarded()) return Status::InvalidArgument("payload: invalid JSON");
  if (!payload.is_object() && !payload.is_null()) {
    return Status::InvalidArgument(std::string("payload: expected a JSON object, got ") + payload.type_name());
  }
  return filter::Matches(filter, key, payload);
}

}  // namespace vecdex
