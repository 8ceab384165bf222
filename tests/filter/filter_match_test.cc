// FilterMatches: Qdrant's semantics for every condition kind, on scalars, arrays, nested objects,
// missing fields and nulls, and the boolean clauses combining them.
#include <gtest/gtest.h>

#include <string>

#include "filter/json_path.h"
#include "testutil/test_util.h"
#include "vecdex/filter.h"

namespace vecdex {
namespace {

// Whether the point (key, payload) matches the filter; fails the test on any error.
bool M(const std::string& filter_json, const std::string& payload, const PointKey& key = PointKey::Int(1)) {
  Result<Filter> filter = ParseFilter(filter_json);
  EXPECT_TRUE(filter.ok()) << filter_json << ": " << filter.status().ToString();
  if (!filter.ok()) return false;
  Result<bool> matched = FilterMatches(*filter, key, payload);
  EXPECT_TRUE(matched.ok()) << payload << ": " << matched.status().ToString();
  // The in-memory entry point agrees with the text one.
  if (matched.ok() && !payload.empty()) {
    EXPECT_EQ(filter::Matches(*filter, key, nlohmann::json::parse(payload)), *matched) << filter_json << " " << payload;
  }
  return matched.ok() && *matched;
}

// A filter with one `must` condition.
std::string Must(const std::string& condition) { return R"({"must": [)" + condition + "]}"; }

TEST(FilterMatchTest, EmptyFilterMatchesEverything) {
  EXPECT_TRUE(M("{}", R"({"a": 1})"));
  EXPECT_TRUE(M("{}", ""));
  EXPECT_TRUE(M("{}", "null"));
  EXPECT_TRUE(M(R"({"must": [], "should": [], "must_not": []})", R"({})"));
  EXPECT_TRUE(M(R"({"must": null, "should": null, "must_not": null, "min_should": null})", R"({})"));
}

TEST(FilterMatchTest, MatchKeyword) {
  const std::string f = Must(R"({"key": "city", "match": {"value": "London"}})");
  EXPECT_TRUE(M(f, R"({"city": "London"})"));
  EXPECT_FALSE(M(f, R"({"city": "london"})"));
  EXPECT_FALSE(M(f, R"({"city": "London "})"));
  EXPECT_TRUE(M(f, R"({"city": ["Paris", "London"]})"));
  EXPECT_FALSE(M(f, R"({"city": ["Paris", "Berlin"]})"));
  EXPECT_FALSE(M(f, R"({"city": [["London"]]})"));  // arrays flatten one level only
  EXPECT_FALSE(M(f, R"({"town": "London"})"));
  EXPECT_FALSE(M(f, R"({"city": null})"));
  EXPECT_FALSE(M(f, R"({"city": {"name": "London"}})"));
  EXPECT_FALSE(M(f, ""));
  EXPECT_TRUE(M(Must(R"({"key": "s", "match": {"value": ""}})"), R"({"s": ""})"));
}

TEST(FilterMatchTest, MatchIntegerComparesOnlyIntegers) {
  const std::string f = Must(R"({"key": "n", "match": {"value": 3}})");
  EXPECT_TRUE(M(f, R"({"n": 3})"));
  EXPECT_TRUE(M(f, R"({"n": [1, 3]})"));
  EXPECT_FALSE(M(f, R"({"n": 3.0})"));  // a float payload value, as in Qdrant
  EXPECT_FALSE(M(f, R"({"n": "3"})"));
  EXPECT_FALSE(M(f, R"({"n": true})"));
  EXPECT_FALSE(M(f, R"({"n": 4})"));
  const std::string negative = Must(R"({"key": "n", "match": {"value": -7}})");
  EXPECT_TRUE(M(negative, R"({"n": -7})"));
  EXPECT_FALSE(M(negative, R"({"n": 18446744073709551609})"));  // -7 as uint64 bits
  const std::string big = Must(R"({"key": "n", "match": {"value": 9223372036854775807}})");
  EXPECT_TRUE(M(big, R"({"n": 9223372036854775807})"));
  EXPECT_FALSE(M(big, R"({"n": 18446744073709551615})"));
}

TEST(FilterMatchTest, MatchBool) {
  const std::string f = Must(R"({"key": "ok", "match": {"value": true}})");
  EXPECT_TRUE(M(f, R"({"ok": true})"));
  EXPECT_FALSE(M(f, R"({"ok": false})"));
  EXPECT_FALSE(M(f, R"({"ok": 1})"));
  EXPECT_FALSE(M(f, R"({"ok": "true"})"));
  EXPECT_TRUE(M(f, R"({"ok": [false, true]})"));
  EXPECT_TRUE(M(Must(R"({"key": "ok", "match": {"value": false}})"), R"({"ok": false})"));
}

TEST(FilterMatchTest, MatchAny) {
  const std::string f = Must(R"({"key": "color", "match": {"any": ["black", "yellow", 7]}})");
  EXPECT_TRUE(M(f, R"({"color": "black"})"));
  EXPECT_TRUE(M(f, R"({"color": 7})"));
  EXPECT_FALSE(M(f, R"({"color": "red"})"));
  EXPECT_TRUE(M(f, R"({"color": ["red", "yellow"]})"));
  EXPECT_FALSE(M(f, R"({"color": ["red", "blue"]})"));
  EXPECT_FALSE(M(f, R"({"color": []})"));
  EXPECT_FALSE(M(f, R"({"colour": "black"})"));
  EXPECT_FALSE(M(f, R"({"color": 7.0})"));
}

TEST(FilterMatchTest, MatchExceptFollowsQdrant) {
  const std::string f = Must(R"({"key": "color", "match": {"except": ["black", "yellow"]}})");
  EXPECT_TRUE(M(f, R"({"color": "red"})"));
  EXPECT_FALSE(M(f, R"({"color": "black"})"));
  // Any value not in the set is enough (Qdrant checks each value).
  EXPECT_TRUE(M(f, R"({"color": ["black", "red"]})"));
  EXPECT_FALSE(M(f, R"({"color": ["black", "yellow"]})"));
  // No values: a missing field, null or [] does not match.
  EXPECT_FALSE(M(f, R"({"other": 1})"));
  EXPECT_FALSE(M(f, R"({"color": null})"));
  EXPECT_FALSE(M(f, R"({"color": []})"));
  EXPECT_FALSE(M(f, ""));
  // Values of another type are not in the set.
  EXPECT_TRUE(M(f, R"({"color": 5})"));
  EXPECT_TRUE(M(f, R"({"color": true})"));
  EXPECT_TRUE(M(f, R"({"color": {"a": 1}})"));
  // An empty set excludes nothing: every non-null value matches.
  const std::string none = Must(R"({"key": "n", "match": {"except": []}})");
  EXPECT_TRUE(M(none, R"({"n": 1})"));
  EXPECT_FALSE(M(none, R"({"n": null})"));
  const std::string ints = Must(R"({"key": "n", "match": {"except": [1, 2]}})");
  EXPECT_FALSE(M(ints, R"({"n": 2})"));
  EXPECT_TRUE(M(ints, R"({"n": 2.0})"));
  EXPECT_TRUE(M(ints, R"({"n": 3})"));
}

TEST(FilterMatchTest, MatchTextIsSubstring) {
  const std::string f = Must(R"({"key": "d", "match": {"text": "good cheap"}})");
  EXPECT_TRUE(M(f, R"({"d": "a good cheap meal"})"));
  EXPECT_FALSE(M(f, R"({"d": "cheap and good"})"));
  EXPECT_FALSE(M(f, R"({"d": "Good Cheap"})"));
  EXPECT_TRUE(M(f, R"({"d": ["x", "so good cheap"]})"));
  EXPECT_FALSE(M(f, R"({"d": 5})"));
  EXPECT_FALSE(M(f, R"({})"));
  EXPECT_TRUE(M(Must(R"({"key": "d", "match": {"text": ""}})"), R"({"d": "anything"})"));
  EXPECT_FALSE(M(Must(R"({"key": "d", "match": {"text": ""}})"), R"({"d": 1})"));
}

TEST(FilterMatchTest, Range) {
  const std::string f = Must(R"({"key": "price", "range": {"gte": 100, "lt": 450.5}})");
  EXPECT_TRUE(M(f, R"({"price": 100})"));
  EXPECT_TRUE(M(f, R"({"price": 100.0})"));
  EXPECT_TRUE(M(f, R"({"price": 450.25})"));
  EXPECT_FALSE(M(f, R"({"price": 450.5})"));
  EXPECT_FALSE(M(f, R"({"price": 99.999})"));
  EXPECT_FALSE(M(f, R"({"price": -5})"));
  EXPECT_FALSE(M(f, R"({"price": "200"})"));
  EXPECT_FALSE(M(f, R"({"price": true})"));
  EXPECT_FALSE(M(f, R"({"price": null})"));
  EXPECT_FALSE(M(f, R"({})"));
  EXPECT_TRUE(M(f, R"({"price": [5, 200]})"));
  EXPECT_FALSE(M(f, R"({"price": [5, 500]})"));
  const std::string open = Must(R"({"key": "x", "range": {"gt": -1, "lte": 1, "lt": null}})");
  EXPECT_FALSE(M(open, R"({"x": -1})"));
  EXPECT_TRUE(M(open, R"({"x": 1})"));
  EXPECT_TRUE(M(open, R"({"x": 18446744073709551615})") == false);
  EXPECT_TRUE(M(Must(R"({"key": "x", "range": {"gt": 1e19}})"), R"({"x": 18446744073709551615})"));
}

TEST(FilterMatchTest, ValuesCount) {
  const std::string f = Must(R"({"key": "comments", "values_count": {"gt": 2}})");
  EXPECT_TRUE(M(f, R"({"comments": ["meh", "expected more", "ok"]})"));
  EXPECT_FALSE(M(f, R"({"comments": ["Very good!", "Excellent"]})"));
  const std::string one = Must(R"({"key": "c", "values_count": {"gte": 1, "lte": 1}})");
  EXPECT_TRUE(M(one, R"({"c": "single"})"));  // a non-array value counts 1
  EXPECT_TRUE(M(one, R"({"c": {"a": 1}})"));
  EXPECT_FALSE(M(one, R"({"c": null})"));  // null is no value
  EXPECT_TRUE(M(one, R"({"c": [null, 3]})"));
  const std::string zero = Must(R"({"key": "c", "values_count": {"lt": 1}})");
  EXPECT_TRUE(M(zero, R"({})"));  // a missing field has 0 values
  EXPECT_TRUE(M(zero, R"({"c": []})"));
  EXPECT_TRUE(M(zero, ""));
  EXPECT_FALSE(M(zero, R"({"c": 0})"));
  // Values along a path through an array are all counted.
  const std::string paths = Must(R"({"key": "a[].b", "values_count": {"gte": 3}})");
  EXPECT_TRUE(M(paths, R"({"a": [{"b": [1, 2]}, {"b": 3}]})"));
  EXPECT_FALSE(M(paths, R"({"a": [{"b": [1, 2]}, {"c": 3}]})"));
}

TEST(FilterMatchTest, IsEmpty) {
  const std::string f = Must(R"({"is_empty": {"key": "reports"}})");
  EXPECT_TRUE(M(f, R"({})"));
  EXPECT_TRUE(M(f, R"({"reports": null})"));
  EXPECT_TRUE(M(f, R"({"reports": []})"));
  EXPECT_TRUE(M(f, ""));
  EXPECT_FALSE(M(f, R"({"reports": [null]})"));  // a non-empty array, as in Qdrant
  EXPECT_FALSE(M(f, R"({"reports": 0})"));
  EXPECT_FALSE(M(f, R"({"reports": ""})"));
  EXPECT_FALSE(M(f, R"({"reports": {}})"));
  EXPECT_FALSE(M(f, R"({"reports": [1]})"));
  const std::string deep = Must(R"({"is_empty": {"key": "a[].b"}})");
  EXPECT_TRUE(M(deep, R"({"a": [{"b": null}, {"b": []}, {"c": 1}]})"));
  EXPECT_FALSE(M(deep, R"({"a": [{"b": null}, {"b": 1}]})"));
  // must_not is_empty selects every point with a value.
  const std::string has = R"({"must_not": [{"is_empty": {"key": "reports"}}]})";
  EXPECT_TRUE(M(has, R"({"reports": [1]})"));
  EXPECT_FALSE(M(has, R"({"reports": []})"));
}

TEST(FilterMatchTest, IsNull) {
  const std::string f = Must(R"({"is_null": {"key": "reports"}})");
  EXPECT_TRUE(M(f, R"({"reports": null})"));
  EXPECT_FALSE(M(f, R"({})"));
  EXPECT_FALSE(M(f, ""));
  EXPECT_FALSE(M(f, R"({"reports": []})"));
  EXPECT_FALSE(M(f, R"({"reports": [null]})"));  // the value is an array, not null
  EXPECT_FALSE(M(f, R"({"reports": 0})"));
  const std::string deep = Must(R"({"is_null": {"key": "a[].b"}})");
  EXPECT_TRUE(M(deep, R"({"a": [{"b": 1}, {"b": null}]})"));
  EXPECT_FALSE(M(deep, R"({"a": [{"b": 1}, {"c": null}]})"));
  EXPECT_TRUE(M(Must(R"({"is_null": {"key": "a[]"}})"), R"({"a": [1, null]})"));
}

TEST(FilterMatchTest, HasId) {
  const std::string f = Must(R"({"has_id": [1, 3, "abc", 5, "550e8400-e29b-41d4-a716-446655440000"]})");
  EXPECT_TRUE(M(f, "", PointKey::Int(1)));
  EXPECT_TRUE(M(f, "", PointKey::Int(5)));
  EXPECT_FALSE(M(f, "", PointKey::Int(2)));
  EXPECT_TRUE(M(f, "", PointKey::String("abc")));
  EXPECT_TRUE(M(f, "", PointKey::String("550e8400-e29b-41d4-a716-446655440000")));
  EXPECT_FALSE(M(f, "", PointKey::String("1")));  // a string key never equals an integer key
  EXPECT_FALSE(M(Must(R"({"has_id": ["3"]})"), "", PointKey::Int(3)));
  EXPECT_FALSE(M(Must(R"({"has_id": []})"), "", PointKey::Int(0)));
  EXPECT_TRUE(M(Must(R"({"has_id": [18446744073709551615]})"), "", PointKey::Int(UINT64_MAX)));
  EXPECT_TRUE(M(R"({"must_not": [{"has_id": [7]}]})", "", PointKey::Int(8)));
  EXPECT_FALSE(M(R"({"must_not": [{"has_id": [7]}]})", "", PointKey::Int(7)));
}

TEST(FilterMatchTest, DottedAndArrayPaths) {
  const std::string payload =
      R"({"country": {"name": "Japan", "cities": [{"name": "Tokyo", "population": 9.3, "sightseeing": ["Tokyo Tower", "Tokyo Skytree"]},
                                                   {"name": "Osaka", "population": 2.7, "sightseeing": ["Osaka Castle", "Universal Studios Japan"]}]}})";
  EXPECT_TRUE(M(Must(R"({"key": "country.name", "match": {"value": "Japan"}})"), payload));
  EXPECT_TRUE(M(Must(R"({"key": "country.cities[].population", "range": {"gte": 9.0}})"), payload));
  EXPECT_FALSE(M(Must(R"({"key": "country.cities[].population", "range": {"gte": 10}})"), payload));
  EXPECT_TRUE(M(Must(R"({"key": "country.cities[].sightseeing", "match": {"value": "Osaka Castle"}})"), payload));
  EXPECT_TRUE(M(Must(R"({"key": "country.cities[1].name", "match": {"value": "Osaka"}})"), payload));
  EXPECT_FALSE(M(Must(R"({"key": "country.cities[0].name", "match": {"value": "Osaka"}})"), payload));
  EXPECT_TRUE(M(Must(R"({"key": "country.cities.name", "match": {"value": "Tokyo"}})"), payload));
  EXPECT_TRUE(M(Must(R"({"key": "country.cities[].sightseeing[1]", "match": {"value": "Tokyo Skytree"}})"), payload));
  EXPECT_FALSE(M(Must(R"({"key": "country.cities[].sightseeing[1]", "match": {"value": "Tokyo Tower"}})"), payload));
}

// Qdrant's documentation example: conditions on diet[] hold on different elements, nested makes
// them hold on the same element.
TEST(FilterMatchTest, NestedEvaluatesEachElementOnItsOwn) {
  const std::string trex =
      R"({"dinosaur": "t-rex", "diet": [{"food": "leaves", "likes": false}, {"food": "meat", "likes": true}]})";
  const std::string diplodocus =
      R"({"dinosaur": "diplodocus", "diet": [{"food": "leaves", "likes": true}, {"food": "meat", "likes": false}]})";
  const std::string flat = R"({"must": [{"key": "diet[].food", "match": {"value": "meat"}},
                                        {"key": "diet[].likes", "match": {"value": true}}]})";
  EXPECT_TRUE(M(flat, trex));
  EXPECT_TRUE(M(flat, diplodocus));
  for (const char* key : {"diet", "diet[]"}) {
    const std::string nested = std::string(R"({"must": [{"nested": {"key": ")") + key +
                               R"(", "filter": {"must": [{"key": "food", "match": {"value": "meat"}},
                                                         {"key": "likes", "match": {"value": true}}]}}}]})";
    EXPECT_TRUE(M(nested, trex)) << key;
    EXPECT_FALSE(M(nested, diplodocus)) << key;
  }
  const std::string nested_not = R"({"must": [{"nested": {"key": "diet", "filter": {"must_not": [{"key": "likes", "match": {"value": true}}]}}}]})";
  EXPECT_TRUE(M(nested_not, trex));
  EXPECT_FALSE(M(nested_not, R"({"diet": [{"likes": true}]})"));
  EXPECT_FALSE(M(nested_not, R"({"diet": []})"));
  EXPECT_FALSE(M(nested_not, R"({})"));
  EXPECT_FALSE(M(nested_not, R"({"diet": [1, "x", null]})"));  // only objects are elements
  EXPECT_TRUE(M(nested_not, R"({"diet": {"likes": false}})"));  // a lone object counts as one
  // Nested inside nested.
  const std::string two = R"({"must": [{"nested": {"key": "a", "filter": {"must": [
      {"nested": {"key": "b", "filter": {"must": [{"key": "x", "match": {"value": 1}}, {"key": "y", "match": {"value": 2}}]}}}]}}}]})";
  EXPECT_TRUE(M(two, R"({"a": [{"b": [{"x": 1, "y": 3}]}, {"b": [{"x": 0, "y": 2}, {"x": 1, "y": 2}]}]})"));
  EXPECT_FALSE(M(two, R"({"a": [{"b": [{"x": 1, "y": 3}]}, {"b": [{"x": 0, "y": 2}, {"x": 1, "y": 0}]}]})"));
}

// The six points of Qdrant's filtering documentation.
class QdrantDocExample : public ::testing::Test {
 protected:
  // The ids (1..6) of the points that match.
  std::vector<int> Ids(const std::string& filter) {
    const char* payloads[] = {R"({"city": "London", "color": "green"})", R"({"city": "London", "color": "red"})",
                              R"({"city": "London", "color": "blue"})",  R"({"city": "Berlin", "color": "red"})",
                              R"({"city": "Moscow", "color": "green"})", R"({"city": "Moscow", "color": "blue"})"};
    std::vector<int> ids;
    for (int i = 0; i < 6; ++i) {
      if (M(filter, payloads[i], PointKey::Int(static_cast<uint64_t>(i + 1)))) ids.push_back(i + 1);
    }
    return ids;
  }
};

TEST_F(QdrantDocExample, Clauses) {
  EXPECT_EQ(Ids(R"({"must": [{"key": "city", "match": {"value": "London"}}, {"key": "color", "match": {"value": "red"}}]})"),
            (std::vector<int>{2}));
  EXPECT_EQ(Ids(R"({"should": [{"key": "city", "match": {"value": "London"}}, {"key": "color", "match": {"value": "red"}}]})"),
            (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(Ids(R"({"must_not": [{"key": "city", "match": {"value": "London"}}, {"key": "color", "match": {"value": "red"}}]})"),
            (std::vector<int>{5, 6}));
  EXPECT_EQ(Ids(R"({"must": [{"key": "city", "match": {"value": "London"}}], "must_not": [{"key": "color", "match": {"value": "red"}}]})"),
            (std::vector<int>{1, 3}));
  EXPECT_EQ(Ids(R"({"must_not": [{"must": [{"key": "city", "match": {"value": "London"}}, {"key": "color", "match": {"value": "red"}}]}]})"),
            (std::vector<int>{1, 3, 4, 5, 6}));
  // A single condition object in place of a list.
  EXPECT_EQ(Ids(R"({"must": {"key": "city", "match": {"value": "Berlin"}}})"), (std::vector<int>{4}));
  EXPECT_EQ(Ids(R"({"should": {"has_id": [2, 6]}, "must_not": {"key": "color", "match": {"value": "blue"}}})"),
            (std::vector<int>{2}));
}

TEST_F(QdrantDocExample, MinShould) {
  const std::string two_of_three = R"({"min_should": {"conditions": [
      {"key": "city", "match": {"value": "London"}}, {"key": "color", "match": {"value": "red"}},
      {"has_id": [1, 4, 5]}], "min_count": 2}})";
  EXPECT_EQ(Ids(two_of_three), (std::vector<int>{1, 2, 4}));
  EXPECT_EQ(Ids(R"({"min_should": {"conditions": [{"has_id": [1]}], "min_count": 0}})"),
            (std::vector<int>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(Ids(R"({"min_should": {"conditions": [{"has_id": [1]}], "min_count": 2}})"), (std::vector<int>{}));
  EXPECT_EQ(Ids(R"({"min_should": {"conditions": [], "min_count": 1}})"), (std::vector<int>{}));
  // Combined with the other clauses: all must hold.
  EXPECT_EQ(Ids(R"({"must": [{"key": "city", "match": {"value": "London"}}], "should": [{"has_id": [1, 2, 4]}],
                    "min_should": {"conditions": [{"key": "color", "match": {"any": ["red", "blue"]}}, {"has_id": [2, 3]}], "min_count": 2}})"),
            (std::vector<int>{2}));
}

TEST(FilterMatchTest, EmptyFilterConditionMatchesEverything) {
  EXPECT_TRUE(M(R"({"must": [{"must": []}]})", R"({})"));
  EXPECT_FALSE(M(R"({"must_not": [{"should": []}]})", R"({})"));
}

TEST(FilterMatchTest, InvalidPayloads) {
  Result<Filter> filter = ParseFilter(Must(R"({"key": "a", "match": {"value": 1}})"));
  ASSERT_OK(filter);
  for (const char* bad : {"{", "{\"a\": }", "nope", "{\"a\": 1} trailing", "\xff", "{\"a\":\"\xc3\x28\"}"}) {
    SCOPED_TRACE(bad);
    EXPECT_STATUS(FilterMatches(*filter, PointKey::Int(1), bad), StatusCode::kInvalidArgument);
  }
  for (const char* not_object : {"[1]", "1", "\"a\"", "true"}) {
    SCOPED_TRACE(not_object);
    EXPECT_STATUS(FilterMatches(*filter, PointKey::Int(1), not_object), StatusCode::kInvalidArgument);
  }
  Result<bool> ok = FilterMatches(*filter, PointKey::Int(1), R"({"a": 1})");
  ASSERT_OK(ok);
  EXPECT_TRUE(*ok);
}

TEST(FilterMatchTest, DeepPayloadsAreSafe) {
  // 200,000 nested arrays under "a": parsing, walking and destroying it must not recurse that deep.
  const std::string payload = R"({"a": )" + std::string(200000, '[') + std::string(200000, ']') + "}";
  const std::pair<const char*, bool> cases[] = {
      {R"({"must": [{"key": "a", "match": {"value": 1}}]})", false},
      {R"({"must": [{"key": "a[][][][][][]", "values_count": {"gt": 0}}]})", true},  // inner arrays are values
      {R"({"must": [{"nested": {"key": "a", "filter": {}}}]})", false},                // no object elements
      {R"({"must_not": [{"is_empty": {"key": "a"}}]})", true}};
  for (const auto& [f, expected] : cases) {
    Result<Filter> filter = ParseFilter(f);
    ASSERT_OK(filter);
    Result<bool> matched = FilterMatches(*filter, PointKey::Int(1), payload);
    ASSERT_OK(matched);
    EXPECT_EQ(*matched, expected) << f;
  }
}

}  // namespace
}  // namespace vecdex
