// ParseFilter: the forms Qdrant accepts, and every rejection with its message and location.
#include <gtest/gtest.h>

#include <string>
#include <variant>

#include "testutil/test_util.h"
#include "vecdex/filter.h"

namespace vecdex {
namespace {

Filter MustParse(const std::string& json) {
  Result<Filter> f = ParseFilter(json);
  EXPECT_TRUE(f.ok()) << json << ": " << f.status().ToString();
  return f.ok() ? std::move(f).value() : Filter{};
}

TEST(FilterParseTest, EmptyFilter) {
  const Filter f = MustParse("{}");
  EXPECT_TRUE(f.must.empty());
  EXPECT_TRUE(f.should.empty());
  EXPECT_TRUE(f.must_not.empty());
  EXPECT_FALSE(f.min_should.has_value());
  EXPECT_EQ(FilterToJson(f), "{}");
  EXPECT_EQ(FilterToJson(MustParse(" { \"should\" : null } ")), "{}");
}

TEST(FilterParseTest, FieldConditions) {
  const Filter f = MustParse(R"({"must": [
      {"key": "a", "match": {"value": "x"}},
      {"key": "b.c", "match": {"value": -3}},
      {"key": "d[]", "match": {"value": true}},
      {"key": "e", "match": {"any": ["x", 2, false]}},
      {"key": "f", "match": {"except": []}},
      {"key": "g", "match": {"text": "hello"}},
      {"key": "h", "range": {"gt": 1, "lte": 2.5, "gte": null}},
      {"key": "i", "values_count": {"gte": 2}},
      {"key": "j", "match": {"value": 9223372036854775807}}]})");
  ASSERT_EQ(f.must.size(), 9u);
  const auto field = [&](size_t i) -> const FieldCondition& { return std::get<FieldCondition>(f.must[i]); };
  EXPECT_EQ(field(0).path.text, "a");
  EXPECT_EQ(std::get<std::string>(*field(0).match_value), "x");
  EXPECT_EQ(field(1).path.steps.size(), 2u);
  EXPECT_EQ(std::get<int64_t>(*field(1).match_value), -3);
  EXPECT_TRUE(field(2).path.steps[0].flatten);
  EXPECT_EQ(std::get<bool>(*field(2).match_value), true);
  ASSERT_EQ(field(3).match_any->size(), 3u);
  EXPECT_EQ(std::get<std::string>((*field(3).match_any)[0]), "x");
  EXPECT_EQ(std::get<int64_t>((*field(3).match_any)[1]), 2);
  EXPECT_EQ(std::get<bool>((*field(3).match_any)[2]), false);
  EXPECT_TRUE(field(4).match_except->empty());
  EXPECT_EQ(*field(5).match_text, "hello");
  EXPECT_EQ(field(6).range->gt, 1.0);
  EXPECT_EQ(field(6).range->lte, 2.5);
  EXPECT_FALSE(field(6).range->gte.has_value());
  EXPECT_FALSE(field(6).range->lt.has_value());
  EXPECT_EQ(field(7).values_count->gte, 2.0);
  EXPECT_EQ(std::get<int64_t>(*field(8).match_value), INT64_MAX);
  for (size_t i = 0; i < f.must.size(); ++i) {
    const FieldCondition& c = field(i);
    const int operators = c.match_value.has_value() + c.match_any.has_value() + c.match_except.has_value() +
                          c.match_text.has_value() + c.range.has_value() + c.values_count.has_value();
    EXPECT_EQ(operators, 1) << i;
  }
}

TEST(FilterParseTest, OtherConditions) {
  const Filter f = MustParse(R"({
      "must": {"is_empty": {"key": "a"}},
      "should": [{"is_null": {"key": "b"}}, {"has_id": [5, "k", 1, 5]}],
      "must_not": [{"nested": {"key": "items[]", "filter": {"must": [{"key": "x", "match": {"value": 1}}]}}},
                   {"should": [{"key": "y", "range": {"lt": 0}}]}],
      "min_should": {"conditions": [{"is_empty": {"key": "z"}}], "min_count": 1}})");
  ASSERT_EQ(f.must.size(), 1u);
  EXPECT_EQ(std::get<IsEmptyCondition>(f.must[0]).path.text, "a");
  ASSERT_EQ(f.should.size(), 2u);
  EXPECT_EQ(std::get<IsNullCondition>(f.should[0]).path.text, "b");
  // has_id keys come out sorted (integers first) and without duplicates.
  EXPECT_EQ(std::get<HasIdCondition>(f.should[1]).keys,
            (std::vector<PointKey>{PointKey::Int(1), PointKey::Int(5), PointKey::String("k")}));
  ASSERT_EQ(f.must_not.size(), 2u);
  const auto& nested = std::get<NestedCondition>(f.must_not[0]);
  EXPECT_EQ(nested.path.text, "items[]");
  ASSERT_NE(nested.filter, nullptr);
  EXPECT_EQ(nested.filter->must.size(), 1u);
  const auto& sub = std::get<FilterCondition>(f.must_not[1]);
  ASSERT_NE(sub.filter, nullptr);
  EXPECT_EQ(sub.filter->should.size(), 1u);
  ASSERT_TRUE(f.min_should.has_value());
  EXPECT_EQ(f.min_should->min_count, 1u);
  EXPECT_EQ(f.min_should->conditions.size(), 1u);
}

// What Qdrant's Python client sends: every optional field present, unset ones as null.
TEST(FilterParseTest, NullFieldsFromClients) {
  const Filter f = MustParse(R"({"should": null, "min_should": null, "must_not": null, "must": [
      {"key": "price", "match": null, "range": {"gt": null, "gte": 100.0, "lt": null, "lte": 450.0},
       "geo_bounding_box": null, "geo_radius": null, "geo_polygon": null, "values_count": null},
      {"key": "c", "match": {"value": "x", "any": null, "text": null}},
      {"is_empty": {"key": "r"}, "has_id": null}]})");
  ASSERT_EQ(f.must.size(), 3u);
  EXPECT_TRUE(std::get<FieldCondition>(f.must[0]).range.has_value());
  EXPECT_TRUE(std::get<FieldCondition>(f.must[1]).match_value.has_value());
  EXPECT_TRUE(std::holds_alternative<IsEmptyCondition>(f.must[2]));
}

// Each bad filter, and the exact message it gets.
struct BadFilter {
  std::string json;
  std::string message;
};

void PrintTo(const BadFilter& bad, std::ostream* os) { *os << bad.json; }

class FilterParseErrorTest : public ::testing::TestWithParam<BadFilter> {};

TEST_P(FilterParseErrorTest, RejectedWithLocation) {
  Result<Filter> f = ParseFilter(GetParam().json);
  ASSERT_FALSE(f.ok()) << GetParam().json;
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f.status().message(), GetParam().message) << GetParam().json;
}

INSTANTIATE_TEST_SUITE_P(
    AllErrors, FilterParseErrorTest,
    ::testing::Values(
        // Not JSON, not an object.
        BadFilter{"", "filter: invalid JSON: parse error at line 1, column 1: syntax error while parsing value - "
                      "unexpected end of input; expected '[', '{', or a literal"},
        BadFilter{"{\"must\": [}", "filter: invalid JSON: parse error at line 1, column 11: syntax error while "
                                   "parsing value - unexpected '}'; expected '[', '{', or a literal"},
        BadFilter{"{} {}", "filter: invalid JSON: parse error at line 1, column 4: syntax error while parsing value - "
                           "unexpected '{'; expected end of input"},
        BadFilter{"[]", "filter: expected a filter object, got []"},
        BadFilter{"null", "filter: expected a filter object, got null"},
        BadFilter{"\"must\"", "filter: expected a filter object, got \"must\""},
        // Clauses.
        BadFilter{R"({"filter": {}})", "filter.filter: unknown clause (expected must, should, must_not or min_should)"},
        BadFilter{R"({"must": 5})", "filter.must: expected an array of conditions or a condition object, got 5"},
        BadFilter{R"({"must": ["a"]})", "filter.must[0]: expected a condition object, got \"a\""},
        BadFilter{R"({"must": [{}]})", "filter.must[0]: empty condition (expected a field condition, is_empty, "
                                       "is_null, has_id, nested or a filter)"},
        BadFilter{R"({"should": [{"key": null}]})", "filter.should[0]: empty condition (expected a field condition, "
                                                    "is_empty, is_null, has_id, nested or a filter)"},
        // Conditions with no or two operators, unknown or unsupported fields.
        BadFilter{R"({"must": [{"key": "a"}]})",
                  "filter.must[0]: field condition has no operator (expected match, range or values_count)"},
        BadFilter{R"({"must": [{"key": "a", "match": {"value": 1}, "range": {"gt": 1}}]})",
                  "filter.must[0]: a condition has one operator, got two: \"match\" and \"range\""},
        BadFilter{R"({"must": [{"is_empty": {"key": "a"}, "is_null": {"key": "a"}}]})",
                  "filter.must[0]: a condition has one operator, got two: \"is_empty\" and \"is_null\""},
        BadFilter{R"({"must": [{"key": "a", "is_empty": {"key": "a"}}]})",
                  "filter.must[0]: \"is_empty\" does not take a \"key\" beside it"},
        BadFilter{R"({"must": [{"match": {"value": 1}}]})", "filter.must[0]: field condition without \"key\""},
        BadFilter{R"({"must": [{"must": [], "has_id": [1]}]})",
                  "filter.must[0]: a condition is either a filter or one operator; got \"must\" together with \"has_id\""},
        BadFilter{R"({"must": [{"should": [], "key": "a"}]})",
                  "filter.must[0]: a condition is either a filter or one operator; got \"should\" together with \"key\""},
        BadFilter{R"({"must": [{"key": "a", "mach": {"value": 1}}]})",
                  "filter.must[0].mach: unknown field (expected a field condition {\"key\", \"match\"|\"range\"|"
                  "\"values_count\"}, is_empty, is_null, has_id, nested or a filter)"},
        BadFilter{R"({"must": [{"key": "loc", "geo_radius": {"center": {"lon": 1, "lat": 2}, "radius": 5}}]})",
                  "filter.must[0].geo_radius: condition not supported"},
        // Keys.
        BadFilter{R"({"must": [{"key": "", "match": {"value": 1}}]})", "filter.must[0].key: empty key"},
        BadFilter{R"({"must": [{"key": 5, "match": {"value": 1}}]})", "filter.must[0].key: expected a string, got 5"},
        BadFilter{R"({"must": [{"key": "a..b", "match": {"value": 1}}]})",
                  "filter.must[0].key: \"a..b\": empty field name at byte 2"},
        BadFilter{R"({"must": [{"key": "a[x]", "match": {"value": 1}}]})",
                  "filter.must[0].key: \"a[x]\": expected \"[]\" or \"[<index>]\" at byte 1"},
        // Match.
        BadFilter{R"({"must": [{"key": "a", "match": {"value": 1.5}}]})",
                  "filter.must[0].match.value: expected a string, an integer or a bool, got 1.5 (match does not "
                  "compare floats; use range)"},
        BadFilter{R"({"must": [{"key": "a", "match": {"value": null}}]})",
                  "filter.must[0].match: empty match (expected value, any, except or text)"},
        BadFilter{R"({"must": [{"key": "a", "match": {"value": [1]}}]})",
                  "filter.must[0].match.value: expected a string, an integer or a bool, got [1]"},
        BadFilter{R"({"must": [{"key": "a", "match": {"value": 9223372036854775808}}]})",
                  "filter.must[0].match.value: integer 9223372036854775808 is out of the 64-bit signed range"},
        BadFilter{R"({"must": [{"key": "a", "match": {"value": 1, "any": [1]}}]})",
                  "filter.must[0].match: match has one kind, got two: \"any\" and \"value\""},
        BadFilter{R"({"must": [{"key": "a", "match": {}}]})",
                  "filter.must[0].match: empty match (expected value, any, except or text)"},
        BadFilter{R"({"must": [{"key": "a", "match": "x"}]})",
                  "filter.must[0].match: expected an object {\"value\"|\"any\"|\"except\"|\"text\": ...}, got \"x\""},
        BadFilter{R"({"must": [{"key": "a", "match": {"values": 1}}]})",
                  "filter.must[0].match.values: unknown match kind (expected value, any, except or text)"},
        BadFilter{R"({"must": [{"key": "a", "match": {"phrase": "x y"}}]})",
                  "filter.must[0].match.phrase: match kind not supported"},
        BadFilter{R"({"must": [{"key": "a", "match": {"any": []}}]})",
                  "filter.must[0].match.any: empty list (it would match nothing)"},
        BadFilter{R"({"must": [{"key": "a", "match": {"any": "x"}}]})",
                  "filter.must[0].match.any: expected an array of strings, integers or bools, got \"x\""},
        BadFilter{R"({"must": [{"key": "a", "match": {"any": ["x", 2.5]}}]})",
                  "filter.must[0].match.any[1]: expected a string, an integer or a bool, got 2.5 (match does not "
                  "compare floats; use range)"},
        BadFilter{R"({"must": [{"key": "a", "match": {"except": [{"a": 1}]}}]})",
                  "filter.must[0].match.except[0]: expected a string, an integer or a bool, got {\"a\":1}"},
        BadFilter{R"({"must": [{"key": "a", "match": {"text": 5}}]})",
                  "filter.must[0].match.text: expected a string, got 5"},
        // Range and values_count.
        BadFilter{R"({"must": [{"key": "a", "range": {}}]})",
                  "filter.must[0].range: no bound (expected gt, gte, lt or lte)"},
        BadFilter{R"({"must": [{"key": "a", "range": {"gt": null}}]})",
                  "filter.must[0].range: no bound (expected gt, gte, lt or lte)"},
        BadFilter{R"({"must": [{"key": "a", "range": [1, 2]}]})",
                  "filter.must[0].range: expected an object with gt, gte, lt or lte, got [1,2]"},
        BadFilter{R"({"must": [{"key": "a", "match": {"value": 1}}, {"key": "b", "range": {"gt": "abc"}}]})",
                  "filter.must[1].range.gt: expected a number, got \"abc\""},
        BadFilter{R"({"must": [{"key": "a", "range": {"gte": 1e999}}]})",
                  "filter: invalid JSON: number overflow parsing '1e999'"},
        BadFilter{R"({"must": [{"key": "a", "range": {"from": 1}}]})",
                  "filter.must[0].range.from: unknown bound (expected gt, gte, lt or lte)"},
        BadFilter{R"({"must": [{"key": "a", "values_count": {"gt": -1}}]})",
                  "filter.must[0].values_count.gt: expected a non-negative integer, got -1"},
        BadFilter{R"({"must": [{"key": "a", "values_count": {"gt": 1.5}}]})",
                  "filter.must[0].values_count.gt: expected a non-negative integer, got 1.5"},
        BadFilter{R"({"must": [{"key": "a", "values_count": {"lt": 9007199254740993}}]})",
                  "filter.must[0].values_count.lt: larger than 9007199254740992"},
        // is_empty, is_null.
        BadFilter{R"({"must": [{"is_empty": "a"}]})",
                  "filter.must[0].is_empty: expected an object {\"key\": ...}, got \"a\""},
        BadFilter{R"({"must": [{"is_null": {}}]})", "filter.must[0].is_null: missing \"key\""},
        BadFilter{R"({"must": [{"is_null": {"key": "a", "extra": 1}}]})",
                  "filter.must[0].is_null.extra: unknown field (expected key)"},
        BadFilter{R"({"must": [{"is_null": {"key": "a."}}]})", "filter.must[0].is_null.key: \"a.\": ends with '.'"},
        // has_id.
        BadFilter{R"({"must": [{"has_id": 5}]})", "filter.must[0].has_id: expected an array of point ids, got 5"},
        BadFilter{R"({"must": [{"has_id": [1, -2]}]})",
                  "filter.must[0].has_id[1]: expected an unsigned integer or a string, got -2"},
        BadFilter{R"({"must": [{"has_id": [1.5]}]})",
                  "filter.must[0].has_id[0]: expected an unsigned integer or a string, got 1.5"},
        BadFilter{R"({"must": [{"has_id": [""]}]})", "filter.must[0].has_id[0]: string key is empty"},
        BadFilter{"{\"must\": [{\"has_id\": [\"a\\u0000b\"]}]}",
                  "filter.must[0].has_id[0]: string key \"a\\x00b\" contains a NUL byte at offset 1"},
        // nested.
        BadFilter{R"({"must": [{"nested": {"key": "a"}}]})", "filter.must[0].nested: missing \"filter\""},
        BadFilter{R"({"must": [{"nested": {"filter": {}}}]})", "filter.must[0].nested: missing \"key\""},
        BadFilter{R"({"must": [{"nested": {"key": "a", "filter": {}, "x": 1}}]})",
                  "filter.must[0].nested.x: unknown field (expected key or filter)"},
        BadFilter{R"({"must": [{"nested": {"key": "a", "filter": []}}]})",
                  "filter.must[0].nested.filter: expected a filter object, got []"},
        BadFilter{R"({"must": [{"nested": {"key": "a", "filter": {"must": [{"has_id": [1]}]}}}]})",
                  "filter.must[0].nested.filter.must[0].has_id: not supported inside nested (put it beside the "
                  "nested condition)"},
        BadFilter{R"({"must": [{"nested": {"key": "a", "filter": {"should": {"key": "b", "range": {"lt": "x"}}}}}]})",
                  "filter.must[0].nested.filter.should.range.lt: expected a number, got \"x\""},
        // min_should.
        BadFilter{R"({"min_should": [1]})",
                  "filter.min_should: expected an object {\"conditions\": [...], \"min_count\": n}, got [1]"},
        BadFilter{R"({"min_should": {"conditions": []}})", "filter.min_should: missing \"min_count\""},
        BadFilter{R"({"min_should": {"min_count": 1}})", "filter.min_should: missing \"conditions\""},
        BadFilter{R"({"min_should": {"conditions": [], "min_count": -1}})",
                  "filter.min_should.min_count: expected a non-negative integer, got -1"},
        BadFilter{R"({"min_should": {"conditions": {}, "min_count": 1}})",
                  "filter.min_should.conditions: expected an array of conditions, got {}"},
        BadFilter{R"({"min_should": {"conditions": [{"key": "a", "match": {"value": 1.0}}], "min_count": 1}})",
                  "filter.min_should.conditions[0].match.value: expected a string, an integer or a bool, got 1.0 "
                  "(match does not compare floats; use range)"},
        BadFilter{R"({"min_should": {"conditions": [], "min_count": 1, "max_count": 2}})",
                  "filter.min_should.max_count: unknown field (expected conditions or min_count)"},
        // Deeper locations.
        BadFilter{R"({"must_not": [{"should": [{"key": "a", "match": {"value": 1}}, {"must": [{"key": "b", "range": {"gt": true}}]}]}]})",
                  "filter.must_not[0].should[1].must[0].range.gt: expected a number, got true"}));

// A filter nested `levels` deep through filter conditions: {"must": [{"must": [... {}]}]}.
std::string DeepFilter(size_t levels) {
  std::string json;
  for (size_t i = 1; i < levels; ++i) json += R"({"must": [)";
  json += R"({"key": "a", "match": {"value": 1}})";
  for (size_t i = 1; i < levels; ++i) json += "]}";
  return levels == 0 ? "{}" : R"({"must": [)" + json + "]}";
}

// The same through nested conditions.
std::string DeepNested(size_t levels) {
  std::string json = R"({"must": [{"key": "a", "match": {"value": 1}}]})";
  for (size_t i = 1; i < levels; ++i) json = R"({"must": [{"nested": {"key": "n", "filter": )" + json + "}}]}";
  return json;
}

TEST(FilterParseTest, DepthLimit) {
  EXPECT_OK(ParseFilter(DeepFilter(kMaxFilterDepth)));
  EXPECT_OK(ParseFilter(DeepNested(kMaxFilterDepth)));
  Result<Filter> too_deep = ParseFilter(DeepFilter(kMaxFilterDepth + 1));
  ASSERT_FALSE(too_deep.ok());
  EXPECT_NE(too_deep.status().message().find("filters nested deeper than 32 levels"), std::string::npos)
      << too_deep.status().message();
  EXPECT_EQ(too_deep.status().message().rfind("filter.must[0].must[0]", 0), 0u) << too_deep.status().message();
  Result<Filter> nested_too_deep = ParseFilter(DeepNested(kMaxFilterDepth + 1));
  ASSERT_FALSE(nested_too_deep.ok());
  EXPECT_NE(nested_too_deep.status().message().find("filters nested deeper than 32 levels"), std::string::npos)
      << nested_too_deep.status().message();
  // The deepest JSON: a max-depth nested chain whose innermost condition is a match on a list.
  std::string deepest = R"({"must": [{"key": "a", "match": {"any": [1]}}]})";
  for (size_t i = 1; i < kMaxFilterDepth; ++i) deepest = R"({"must": [{"nested": {"key": "n", "filter": )" + deepest + "}}]}";
  EXPECT_OK(ParseFilter(deepest));
}

TEST(FilterParseTest, DeepJsonIsRejectedBeforeParsing) {
  // A million brackets would overflow a recursive parser's stack; this must fail fast and cleanly.
  for (const char* open : {"[", "{\"a\":"}) {
    std::string json;
    for (int i = 0; i < 1000000; ++i) json += open;
    Result<Filter> f = ParseFilter(json);
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.status().message().rfind("filter: nested deeper than 136 JSON levels", 0), 0u) << f.status().message();
  }
  // Brackets inside strings do not count.
  std::string in_string = R"({"must": [{"key": "a", "match": {"value": ")" + std::string(1000, '[') + "\\\"" +
                          std::string(1000, '{') + R"("}}]})";
  EXPECT_OK(ParseFilter(in_string));
}

TEST(FilterParseTest, ConditionLimit) {
  const auto conditions = [](size_t n) {
    std::string json = R"({"should": [)";
    for (size_t i = 0; i < n; ++i) json += std::string(i ? "," : "") + R"({"has_id": [1]})";
    return json + "]}";
  };
  EXPECT_OK(ParseFilter(conditions(kMaxFilterConditions)));
  Result<Filter> f = ParseFilter(conditions(kMaxFilterConditions + 1));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(), "filter.should[4096]: more than 4096 conditions in the filter");
  // Conditions at every level count, filter conditions and nested ones included.
  std::string mixed = R"({"must": [{"should": [)";
  for (size_t i = 0; i < kMaxFilterConditions - 1; ++i) mixed += std::string(i ? "," : "") + R"({"has_id": [1]})";
  mixed += "]}]}";
  EXPECT_OK(ParseFilter(mixed));
  mixed = R"({"must_not": {"is_null": {"key": "x"}}, )" + mixed.substr(1);
  EXPECT_STATUS(ParseFilter(mixed), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vecdex
