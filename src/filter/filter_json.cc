// FilterToJson: the canonical JSON form of a filter. Objects come out with sorted keys (nlohmann's
// default map), empty clauses are left out, and every value is written the way ParseFilter reads
// it back, so ParseFilter(FilterToJson(f)) == f and FilterToJson is idempotent through a parse.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "vecdex/filter.h"

namespace vecdex {
namespace {

using Json = nlohmann::json;

Json FilterValue(const Filter& filter);

Json MatchValueJson(const MatchValue& v) {
  switch (v.index()) {
    case 0:
      return std::get<std::string>(v);
    case 1:
      return std::get<int64_t>(v);
    default:
      return std::get<bool>(v);
  }
}

Json MatchListJson(const std::vector<MatchValue>& values) {
  Json out = Json::array();
  for (const MatchValue& v : values) out.push_back(MatchValueJson(v));
  return out;
}

Json RangeJson(const RangeBounds& r, bool counts) {
  Json out = Json::object();
  const auto put = [&](const char* name, const std::optional<double>& bound) {
    if (!bound) return;
    // values_count bounds are whole numbers up to 2^53 (checked by the parser).
    if (counts) {
      out[name] = static_cast<uint64_t>(*bound);
    } else {
      out[name] = *bound;
    }
  };
  put("gt", r.gt);
  put("gte", r.gte);
  put("lt", r.lt);
  put("lte", r.lte);
  return out;
}

Json FieldConditionJson(const FieldCondition& c) {
  Json out = {{"key", c.path.text}};
  if (c.match_value) {
    out["match"] = {{"value", MatchValueJson(*c.match_value)}};
  } else if (c.match_any) {
    out["match"] = {{"any", MatchListJson(*c.match_any)}};
  } else if (c.match_except) {
    out["match"] = {{"except", MatchListJson(*c.match_except)}};
  } else if (c.match_text) {
    out["match"] = {{"text", *c.match_text}};
  } else if (c.range) {
    out["range"] = RangeJson(*c.range, /*counts=*/false);
  } else if (c.values_count) {
    out["values_count"] = RangeJson(*c.values_count, /*counts=*/true);
  }
  return out;
}

Json ConditionJson(const Condition& condition) {
  switch (condition.index()) {
    case 0:
      return FieldConditionJson(std::get<FieldCondition>(condition));
    case 1:
      return {{"is_empty", {{"key", std::get<IsEmptyCondition>(condition).path.text}}}};
    case 2:
      return {{"is_null", {{"key", std::get<IsNullCondition>(condition).path.text}}}};
    case 3: {
      Json ids = Json::array();
      for (const PointKey& key : std::get<HasIdCondition>(condition).keys) {
        if (key.is_int()) {
          ids.push_back(key.int_value());
        } else {
          ids.push_back(key.string_value());
        }
      }
      return {{"has_id", std::move(ids)}};
    }
    case 4: {
      const auto& nested = std::get<NestedCondition>(condition);
      return {{"nested", {{"key", nested.path.text}, {"filter", FilterValue(*nested.filter)}}}};
    }
    default: {
      Json sub = FilterValue(*std::get<FilterCondition>(condition).filter);
      // `{}` is not a condition; an empty filter condition (which matches everything) is written
      // the way it is read.
      if (sub.empty()) sub["must"] = Json::array();
      return sub;
    }
  }
}

Json ConditionsJson(const std::vector<Condition>& conditions) {
  Json out = Json::array();
  for (const Condition& c : conditions) out.push_back(ConditionJson(c));
  return out;
}

Json FilterValue(const Filter& filter) {
  Json out = Json::object();
  if (!filter.must.empty()) out["must"] = ConditionsJson(filter.must);
  if (!filter.should.empty()) out["should"] = ConditionsJson(filter.should);
  if (!filter.must_not.empty()) out["must_not"] = ConditionsJson(filter.must_not);
  if (filter.min_should) {
    out["min_should"] = {{"conditions", ConditionsJson(filter.min_should->conditions)},
                         {"min_count", static_cast<uint64_t>(filter.min_should->min_count)}};
  }
  return out;
}

}  // namespace

std::string FilterToJson(const Filter& filter) {
  return FilterValue(filter).dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace vecdex
