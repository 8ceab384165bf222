// FieldPath parsing and the values a path reaches in a payload.
#include "filter/json_path.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "testutil/test_util.h"

namespace vecdex::filter {
namespace {

using Json = nlohmann::json;

FieldPath MustParse(std::string_view text) {
  Result<FieldPath> path = ParseFieldPath(text);
  EXPECT_TRUE(path.ok()) << text << ": " << path.status().ToString();
  return path.ok() ? std::move(path).value() : FieldPath{};
}

// The values at `path` in `payload`, each dumped as JSON.
std::vector<std::string> Values(const char* payload, const char* path) {
  std::vector<std::string> out;
  ForEachValue(Json::parse(payload), MustParse(path), [&](const Json& v) { out.push_back(v.dump()); });
  return out;
}

using Strings = std::vector<std::string>;

TEST(ParseFieldPathTest, SimpleAndDotted) {
  FieldPath p = MustParse("city");
  ASSERT_EQ(p.steps.size(), 1u);
  EXPECT_EQ(p.steps[0].field, "city");
  EXPECT_FALSE(p.steps[0].flatten);
  EXPECT_FALSE(p.steps[0].index.has_value());
  EXPECT_EQ(p.text, "city");

  p = MustParse("address.city");
  ASSERT_EQ(p.steps.size(), 2u);
  EXPECT_EQ(p.steps[0].field, "address");
  EXPECT_EQ(p.steps[1].field, "city");
  EXPECT_EQ(p.text, "address.city");
}

TEST(ParseFieldPathTest, Brackets) {
  FieldPath p = MustParse("country.cities[].population");
  ASSERT_EQ(p.steps.size(), 3u);
  EXPECT_EQ(p.steps[1].field, "cities");
  EXPECT_TRUE(p.steps[1].flatten);
  EXPECT_EQ(p.steps[2].field, "population");

  p = MustParse("tags[0]");
  ASSERT_EQ(p.steps.size(), 1u);
  EXPECT_EQ(p.steps[0].field, "tags");
  ASSERT_TRUE(p.steps[0].index.has_value());
  EXPECT_EQ(*p.steps[0].index, 0u);

  p = MustParse("m[12][]");
  ASSERT_EQ(p.steps.size(), 2u);
  EXPECT_EQ(p.steps[0].field, "m");
  EXPECT_EQ(*p.steps[0].index, 12u);
  EXPECT_EQ(p.steps[1].field, "");
  EXPECT_TRUE(p.steps[1].flatten);
}

TEST(ParseFieldPathTest, OddButValidNames) {
  EXPECT_EQ(MustParse("my field").steps[0].field, "my field");
  EXPECT_EQ(MustParse("ключ").steps[0].field, "ключ");
  EXPECT_EQ(MustParse("a-b_c$").steps[0].field, "a-b_c$");
}

TEST(ParseFieldPathTest, Errors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "empty key"},
      {".a", "starts with '.'"},
      {"[0]", "starts with '['"},
      {"a.", "ends with '.'"},
      {"a..b", "empty field name at byte 2"},
      {"a.[0]", "empty field name at byte 2"},
      {"a[", "expected \"[]\" or \"[<index>]\" at byte 1"},
      {"a[x]", "expected \"[]\" or \"[<index>]\" at byte 1"},
      {"a[1", "expected \"[]\" or \"[<index>]\" at byte 1"},
      {"a[-1]", "expected \"[]\" or \"[<index>]\" at byte 1"},
      {"a]", "unexpected ']' at byte 1"},
      {"a[]b", "expected '.' or '[' at byte 3"},
      {"a[99999999999]", "array index too large"},
      {"\"a.b\"", "quoted keys are not supported"},
  };
  for (const auto& [text, message] : cases) {
    Result<FieldPath> p = ParseFieldPath(text);
    ASSERT_FALSE(p.ok()) << text;
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(p.status().message().find(message), std::string::npos) << text << ": " << p.status().message();
  }
}

TEST(ParseFieldPathTest, StepLimit) {
  std::string ok = "a";
  for (size_t i = 1; i < kMaxFieldPathSteps; ++i) ok += ".a";
  EXPECT_OK(ParseFieldPath(ok));
  EXPECT_STATUS(ParseFieldPath(ok + ".a"), StatusCode::kInvalidArgument);
  EXPECT_OK(ParseFieldPath(ok + "[]"));  // a bracket on the last step adds no step
  EXPECT_STATUS(ParseFieldPath(ok + "[0][0]"), StatusCode::kInvalidArgument);
}

TEST(ForEachValueTest, Scalars) {
  EXPECT_EQ(Values(R"({"a": 1})", "a"), Strings{"1"});
  EXPECT_EQ(Values(R"({"a": null})", "a"), Strings{"null"});
  EXPECT_EQ(Values(R"({"a": 1})", "b"), Strings{});
  EXPECT_EQ(Values(R"({"a": {"b": "x"}})", "a.b"), Strings{"\"x\""});
  EXPECT_EQ(Values(R"({"a": 1})", "a.b"), Strings{});
  EXPECT_EQ(Values(R"({"a": "s"})", "a[]"), Strings{});
  EXPECT_EQ(Values(R"({"a": "s"})", "a[0]"), Strings{});
}

TEST(ForEachValueTest, ArraysAtTheEndAreFlattenedOneLevel) {
  EXPECT_EQ(Values(R"({"a": [1, 2]})", "a"), (Strings{"1", "2"}));
  EXPECT_EQ(Values(R"({"a": [1, 2]})", "a[]"), (Strings{"1", "2"}));
  EXPECT_EQ(Values(R"({"a": []})", "a"), Strings{});
  EXPECT_EQ(Values(R"({"a": [[1, 2], 3]})", "a"), (Strings{"[1,2]", "3"}));
  // "a[]" reaches the elements, and the inner array is then flattened as a value at the end.
  EXPECT_EQ(Values(R"({"a": [[1, 2], 3]})", "a[]"), (Strings{"1", "2", "3"}));
}

TEST(ForEachValueTest, Indexes) {
  EXPECT_EQ(Values(R"({"a": [5, 6, 7]})", "a[1]"), Strings{"6"});
  EXPECT_EQ(Values(R"({"a": [5, 6, 7]})", "a[3]"), Strings{});
  EXPECT_EQ(Values(R"({"a": [[1, 2], [3, 4]]})", "a[1][0]"), Strings{"3"});
  EXPECT_EQ(Values(R"({"a": [[1, 2], [3, 4]]})", "a[][1]"), (Strings{"2", "4"}));
  EXPECT_EQ(Values(R"({"a": [{"b": [1, 2]}, {"b": [3]}]})", "a[0].b"), (Strings{"1", "2"}));
}

TEST(ForEachValueTest, ObjectsInArrays) {
  const char* payload =
      R"({"country": {"cities": [{"name": "Tokyo", "population": 9.3, "sights": ["Tower", "Park"]},
                                 {"name": "Osaka", "population": 2.7, "sights": ["Castle"]},
                                 "not an object",
                                 {"name": "Kyoto"}]}})";
  EXPECT_EQ(Values(payload, "country.cities[].population"), (Strings{"9.3", "2.7"}));
  EXPECT_EQ(Values(payload, "country.cities[].sights"), (Strings{"\"Tower\"", "\"Park\"", "\"Castle\""}));
  // Without [], a key step that meets an array looks into each object element (like Qdrant).
  EXPECT_EQ(Values(payload, "country.cities.name"), (Strings{"\"Tokyo\"", "\"Osaka\"", "\"Kyoto\""}));
  EXPECT_EQ(Values(payload, "country.cities[1].name"), Strings{"\"Osaka\""});
}

TEST(ForEachValueTest, NonObjectPayloads) {
  const FieldPath path = MustParse("a");
  size_t calls = 0;
  const auto count = [&](const Json&) { ++calls; };
  ForEachValue(Json(), path, count);
  ForEachValue(Json::parse("[1,2]"), path, count);
  ForEachValue(Json::parse("\"a\""), path, count);
  ForEachValue(Json(Json::value_t::discarded), path, count);
  EXPECT_EQ(calls, 0u);
}

}  // namespace
}  // namespace vecdex::filter
