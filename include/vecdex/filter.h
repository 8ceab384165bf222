// Payload filters: a subset of Qdrant's filter language, parsed from JSON into a tree that payload
// indexes answer (src/payload) and that a point's payload is evaluated against (src/filter).
//
//   {"must": [...], "should": [...], "must_not": [...], "min_should": {"conditions": [...], "min_count": 2}}
//
// A point matches a filter when it matches every `must` condition, at least one `should`
// condition (when there are any), none of the `must_not` conditions and, when given, at least
// min_count of min_should's conditions. A condition is a field condition, a nested filter, or one
// of is_empty / is_null / has_id / nested (see Condition below). Field conditions name a payload
// field by a path (FieldPath) and hold when ANY value found at that path satisfies them (arrays
// are flattened), like Qdrant.
//
// Thread safety: a Filter is an immutable value after parsing; evaluate it from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "vecdex/point.h"
#include "vecdex/status.h"

namespace vecdex {

// A dotted path into a payload: "city", "address.city", "cities[].population", "tags[0]".
// `a.b` steps into object a's field b; `a[]` flattens array a (every element); `a[3]` takes one
// element. Like Qdrant, a step that meets an array without [] also looks inside every element.
struct FieldPath {
  struct Step {
    std::string field;          // object key ("" for a bare index step)
    bool flatten = false;       // "[]"
    std::optional<size_t> index;  // "[n]"
  };
  std::vector<Step> steps;
  std::string text;  // as written, for messages and payload index names
};

// One value a `match` compares with: keyword (string), integer or bool. Qdrant compares a number
// in `match` only with integer payload values.
using MatchValue = std::variant<std::string, int64_t, bool>;

// A closed/open interval; absent ends are unbounded. Integer and float payload values compare
// as double.
struct RangeBounds {
  std::optional<double> gt, gte, lt, lte;
};

struct FieldCondition {
  FieldPath path;
  // Exactly one of these is set by the parser.
  std::optional<MatchValue> match_value;               // {"match": {"value": v}}
  std::optional<std::vector<MatchValue>> match_any;    // {"match": {"any": [...]}}
  std::optional<std::vector<MatchValue>> match_except; // {"match": {"except": [...]}}
  std::optional<std::string> match_text;               // {"match": {"text": "..."}}: substring
  std::optional<RangeBounds> range;                    // {"range": {...}}
  std::optional<RangeBounds> values_count;             // {"values_count": {...}}: number of values
};

struct Filter;

// {"is_empty": {"key": k}}: the field is absent, null, or an empty array.
struct IsEmptyCondition {
  FieldPath path;
};
// {"is_null": {"key": k}}: the field exists and is null.
struct IsNullCondition {
  FieldPath path;
};
// {"has_id": [1, "uuid", ...]}: the point's key is one of these.
struct HasIdCondition {
  std::vector<PointKey> keys;
};
// {"nested": {"key": "items", "filter": {...}}}: some element of the array at `path` matches
// `filter` on its own (conditions are evaluated against the same element, not across elements).
struct NestedCondition {
  FieldPath path;
  std::shared_ptr<const Filter> filter;
};
// A filter used as a condition: {"must": [{"should": [...]}]}.
struct FilterCondition {
  std::shared_ptr<const Filter> filter;
};

using Condition =
    std::variant<FieldCondition, IsEmptyCondition, IsNullCondition, HasIdCondition, NestedCondition, FilterCondition>;

struct MinShould {
  std::vector<Condition> conditions;
  size_t min_count = 1;
};

struct Filter {
  std::vector<Condition> must;
  std::vector<Condition> should;
  std::vector<Condition> must_not;
  std::optional<MinShould> min_should;
};

// Parses a filter from JSON text. Errors: InvalidArgument saying what is wrong and where, as a
// JSON path into the filter ("filter.must[1].range.gt: expected a number, got \"abc\""): malformed
// JSON, unknown clause or condition, wrong types, empty or malformed keys, a condition with no
// or two operators, nesting deeper than kMaxFilterDepth, NaN/Inf bounds.
[[nodiscard]] Result<Filter> ParseFilter(std::string_view json);

// Deepest nesting of filters (each must/should/must_not/nested level counts one).
inline constexpr size_t kMaxFilterDepth = 32;
// Most conditions in one filter, all levels counted (a bound on the cost of evaluating it).
inline constexpr size_t kMaxFilterConditions = 4096;

// Whether a point with this key and payload (a JSON object as text; "" = no payload) matches.
// Errors: InvalidArgument when the payload is not valid JSON.
[[nodiscard]] Result<bool> FilterMatches(const Filter& filter, const PointKey& key, std::string_view payload_json);

// Serialises a filter back to JSON (canonical form; ParseFilter(FilterToJson(f)) == f).
std::string FilterToJson(const Filter& filter);

}  // namespace vecdex
