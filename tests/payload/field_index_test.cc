// FieldIndex: one field's index, every type against the per-point evaluation (filter::Matches).
//
// The rule under test: Evaluate may decline (nullopt) whatever it likes outside its table, but an
// answer it gives must be exactly the set of points the per-point evaluation matches. Random
// payloads put every kind of value at every path (arrays, nested objects, nulls, other types).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "filter/json_path.h"
#include "payload/field_index.h"
#include "payload/payload_gen.h"
#include "testutil/test_util.h"
#include "vecdex/filter.h"

namespace vecdex::payload {
namespace {

using payloadtest::Json;
using payloadtest::Rng;

constexpr PayloadFieldType kTypes[] = {PayloadFieldType::kKeyword, PayloadFieldType::kInteger,
                                       PayloadFieldType::kFloat, PayloadFieldType::kBool};

FieldPath Path(const std::string& text) {
  Result<FieldPath> p = filter::ParseFieldPath(text);
  EXPECT_TRUE(p.ok()) << text << ": " << p.status().ToString();
  return p.ok() ? *p : FieldPath{};
}

// A parsed filter with one must condition, and that condition.
struct OneCondition {
  Filter filter;
  const FieldCondition& field() const { return std::get<FieldCondition>(filter.must.front()); }
};
std::optional<OneCondition> Parse(const Json& condition) {
  Json f = Json::object();
  f["must"] = Json::array({condition});
  Result<Filter> parsed = ParseFilter(f.dump());
  EXPECT_TRUE(parsed.ok()) << f.dump() << ": " << parsed.status().ToString();
  if (!parsed.ok()) return std::nullopt;
  return OneCondition{std::move(*parsed)};
}
OneCondition MustParse(const std::string& condition_json) {
  std::optional<OneCondition> c = Parse(Json::parse(condition_json));
  if (!c) ADD_FAILURE() << condition_json;
  return c ? std::move(*c) : OneCondition{};
}

std::set<uint32_t> ToSet(const Bitmap& b) {
  std::set<uint32_t> out;
  for (uint32_t id : b) out.insert(id);
  return out;
}
std::string Show(const std::set<uint32_t>& s) {
  std::string out = "{";
  size_t n = 0;
  for (uint32_t id : s) {
    if (n++ == 20) {
      out += " ...";
      break;
    }
    out.append(" ").append(std::to_string(id));
  }
  // Appended piecewise: `out + " } (" + ...` trips GCC 12's -Wrestrict.
  out.append(" } (").append(std::to_string(s.size())).append(")");
  return out;
}

// The points (ids into `payloads`, skipping erased ones) the per-point evaluation matches.
std::set<uint32_t> BruteForce(const Filter& filter, const std::map<uint32_t, Json>& payloads) {
  std::set<uint32_t> out;
  for (const auto& [id, payload] : payloads) {
    if (filter::Matches(filter, PointKey::Int(id), payload)) out.insert(id);
  }
  return out;
}

// Whether a JSON value is one the index of `type` holds.
bool OfType(const Json& v, PayloadFieldType type) {
  switch (type) {
    case PayloadFieldType::kKeyword: return v.is_string();
    case PayloadFieldType::kInteger:
      return v.is_number_integer() && !(v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{INT64_MAX});
    case PayloadFieldType::kFloat: return v.is_number();
    case PayloadFieldType::kBool: return v.is_boolean();
  }
  return false;
}

uint64_t PointsWithValues(const FieldPath& path, PayloadFieldType type, const std::map<uint32_t, Json>& payloads) {
  uint64_t n = 0;
  for (const auto& [id, payload] : payloads) {
    bool any = false;
    if (payload.is_object()) filter::ForEachValue(payload, path, [&](const Json& v) { any = any || OfType(v, type); });
    n += any;
  }
  return n;
}

// Checks one condition against the index: a given answer must be the brute-force one. Returns
// whether the index answered.
bool CheckCondition(const FieldIndex& index, const OneCondition& c, const std::map<uint32_t, Json>& payloads,
                    const std::string& context) {
  const std::optional<Bitmap> got = index.Evaluate(c.field());
  if (!got) return false;
  const std::set<uint32_t> want = BruteForce(c.filter, payloads);
  const std::set<uint32_t> have = ToSet(*got);
  EXPECT_EQ(have, want) << context << ": index " << PayloadFieldTypeName(index.type()) << " on '"
                        << index.path().text << "' answered " << FilterToJson(c.filter) << " wrongly: got "
                        << Show(have) << ", per point " << Show(want);
  return true;
}

// Whether the documented table says the index must answer this condition.
bool MustAnswer(const FieldIndex& index, const FieldCondition& c, bool saw_float) {
  const auto all_of_type = [&](const std::vector<MatchValue>& values) {
    for (const MatchValue& v : values) {
      const bool own = (index.type() == PayloadFieldType::kKeyword && std::holds_alternative<std::string>(v)) ||
                       (index.type() == PayloadFieldType::kInteger && std::holds_alternative<int64_t>(v)) ||
                       (index.type() == PayloadFieldType::kBool && std::holds_alternative<bool>(v));
      if (!own) return false;
    }
    return true;
  };
  if (c.match_value) return all_of_type({*c.match_value});
  if (c.match_any) return all_of_type(*c.match_any);
  if (c.range) {
    return index.type() == PayloadFieldType::kFloat || (index.type() == PayloadFieldType::kInteger && !saw_float);
  }
  return false;
}

bool PathSawFloat(const FieldPath& path, const std::map<uint32_t, Json>& ever) {
  bool saw = false;
  for (const auto& [id, payload] : ever) {
    if (!payload.is_object()) continue;
    filter::ForEachValue(payload, path, [&](const Json& v) {
      saw = saw || v.is_number_float() || (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{INT64_MAX});
    });
  }
  return saw;
}

const char* const kIndexedPaths[] = {"kw", "n", "m", "f", "b", "a.b", "a[].b", "tags", "tags[]", "items[].x",
                                     "items[].y", "u", "tags[0]", "a", "missing"};

// Random conditions on `path_text` (the generator's, with the key forced to the path).
std::vector<OneCondition> ConditionsOn(Rng& rng, const std::string& path_text, size_t count) {
  std::vector<OneCondition> out;
  while (out.size() < count) {
    Json c = payloadtest::RandomFieldCondition(rng);
    c["key"] = path_text;
    std::optional<OneCondition> parsed = Parse(c);
    if (!parsed) return out;
    out.push_back(std::move(*parsed));
  }
  return out;
}

// Every type on every path, over random payloads; then again after replacing and erasing some.
TEST(FieldIndexTest, EveryTypeAgreesWithPerPointEvaluation) {
  for (uint64_t seed : {1u, 2u}) {
    if (payloadtest::kSanitizedBuild && seed > 1) break;
    Rng rng(seed);
    std::map<uint32_t, Json> payloads;  // live
    for (uint32_t id = 0; id < 400; ++id) {
      // Sparse ids: gaps and ids beyond the first block.
      const uint32_t sparse = id < 300 ? id * 3 : 100000 + id;
      payloads[sparse] = payloadtest::RandomPayload(rng, sparse);
    }
    for (const char* path_text : kIndexedPaths) {
      for (PayloadFieldType type : kTypes) {
        const std::string context = "seed " + std::to_string(seed) + ", " + std::string(PayloadFieldTypeName(type)) +
                                    " index on '" + path_text + "'";
        FieldIndex index(Path(path_text), type);
        std::map<uint32_t, Json> live = payloads;
        for (const auto& [id, p] : live) index.Set(id, p);
        std::map<uint32_t, Json> seen = live;
        Rng crng(seed * 1000 + std::hash<std::string>{}(path_text) % 1000 + static_cast<uint64_t>(type));
        std::vector<OneCondition> conditions = ConditionsOn(crng, path_text, 60);

        const auto check_all = [&](const std::string& phase) {
          EXPECT_EQ(index.points(), PointsWithValues(index.path(), type, live)) << context << " " << phase;
          const bool saw_float = PathSawFloat(index.path(), seen);
          for (const OneCondition& c : conditions) {
            const bool answered = CheckCondition(index, c, live, context + " " + phase);
            if (MustAnswer(index, c.field(), saw_float)) {
              EXPECT_TRUE(answered) << context << " " << phase << ": declined " << FilterToJson(c.filter)
                                    << ", which its table says it answers";
            }
            const FieldCondition& f = c.field();
            if (f.match_except || f.match_text || f.values_count) {
              EXPECT_FALSE(answered) << context << ": answered " << FilterToJson(c.filter);
            }
          }
        };
        check_all("after the first Set of every point");
        if (HasFailure()) return;

        // Replace a third of the payloads (new random ones), erase a tenth, re-add a few erased.
        std::vector<uint32_t> ids;
        for (const auto& [id, p] : live) ids.push_back(id);
        for (uint32_t id : ids) {
          const size_t what = payloadtest::Uniform(crng, 10);
          if (what < 3) {
            Json p = payloadtest::RandomPayload(crng, id);
            index.Set(id, p);
            live[id] = p;
            seen[id + (1u << 31)] = p;  // remembered for saw_float under another key
          } else if (what == 3) {
            index.Erase(id);
            live.erase(id);
          }
        }
        index.Erase(7777777);  // never set: nothing happens
        check_all("after replacing and erasing");
        if (HasFailure()) return;
      }
    }
  }
}

TEST(FieldIndexTest, KeywordSetReplacesAndEraseForgets) {
  FieldIndex index(Path("city"), PayloadFieldType::kKeyword);
  const OneCondition london = MustParse(R"({"key": "city", "match": {"value": "London"}})");
  const OneCondition paris = MustParse(R"({"key": "city", "match": {"value": "Paris"}})");
  const OneCondition rome = MustParse(R"({"key": "city", "match": {"value": "Rome"}})");
  const OneCondition any = MustParse(R"({"key": "city", "match": {"any": ["Rome", "Paris", "Nowhere"]}})");
  const auto eval = [&](const OneCondition& c) {
    std::optional<Bitmap> b = index.Evaluate(c.field());
    EXPECT_TRUE(b.has_value());
    return b ? ToSet(*b) : std::set<uint32_t>{99999};
  };
  using S = std::set<uint32_t>;

  index.Set(1, Json::parse(R"({"city": "London"})"));
  index.Set(2, Json::parse(R"({"city": "Paris"})"));
  EXPECT_EQ(eval(london), (S{1}));
  EXPECT_EQ(eval(paris), (S{2}));
  EXPECT_EQ(index.points(), 2u);

  index.Set(1, Json::parse(R"({"city": "Paris"})"));  // replaced, not added
  EXPECT_EQ(eval(london), S{});
  EXPECT_EQ(eval(paris), (S{1, 2}));

  index.Set(1, Json::parse(R"({"city": ["Rome", "London", "Rome"]})"));  // several values
  EXPECT_EQ(eval(london), (S{1}));
  EXPECT_EQ(eval(rome), (S{1}));
  EXPECT_EQ(eval(paris), (S{2}));
  EXPECT_EQ(eval(any), (S{1, 2}));

  index.Set(1, Json::parse(R"({"city": "Paris"})"));  // from several back to one
  EXPECT_EQ(eval(london), S{});
  EXPECT_EQ(eval(rome), S{});
  EXPECT_EQ(eval(paris), (S{1, 2}));

  index.Set(1, Json::parse(R"({"city": ["Rome", "London"]})"));
  index.Set(1, Json::parse(R"({"city": ["London", "Paris"]})"));  // several to several
  EXPECT_EQ(eval(rome), S{});
  EXPECT_EQ(eval(london), (S{1}));
  EXPECT_EQ(eval(paris), (S{1, 2}));

  index.Set(2, Json::parse(R"({"town": "Paris"})"));  // the field went away
  EXPECT_EQ(eval(paris), (S{1}));
  EXPECT_EQ(index.points(), 1u);
  index.Set(2, Json::parse(R"({"city": 7})"));  // a value of another type: not indexed
  EXPECT_EQ(index.points(), 1u);
  index.Set(2, Json());  // no payload
  EXPECT_EQ(index.points(), 1u);

  index.Erase(1);
  EXPECT_EQ(eval(london), S{});
  EXPECT_EQ(eval(paris), S{});
  EXPECT_EQ(index.points(), 0u);
  index.Erase(1);  // twice: harmless
  index.Erase(123456);
  index.Set(1000000, Json::parse(R"({"city": "London"})"));  // a far id grows the table
  EXPECT_EQ(eval(london), (S{1000000}));
  EXPECT_EQ(index.points(), 1u);
}

TEST(FieldIndexTest, IntegerRangeDeclinesOnceAFloatAppears) {
  FieldIndex index(Path("n"), PayloadFieldType::kInteger);
  const OneCondition range = MustParse(R"({"key": "n", "range": {"gte": 3, "lte": 4}})");
  const OneCondition three = MustParse(R"({"key": "n", "match": {"value": 3}})");
  index.Set(1, Json::parse(R"({"n": 3})"));
  index.Set(2, Json::parse(R"({"n": 5})"));
  std::optional<Bitmap> r = index.Evaluate(range.field());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(ToSet(*r), (std::set<uint32_t>{1}));

  index.Set(3, Json::parse(R"({"n": 3.5})"));  // in the range, but not an integer
  EXPECT_FALSE(index.Evaluate(range.field()).has_value()) << "an integer index cannot answer a range once 3.5 was seen";
  std::optional<Bitmap> m = index.Evaluate(three.field());  // match compares integers only
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(ToSet(*m), (std::set<uint32_t>{1}));

  // An integer index also gives up on ranges for integers beyond int64 (compared as doubles).
  FieldIndex big(Path("n"), PayloadFieldType::kInteger);
  big.Set(1, Json::parse(R"({"n": 18446744073709551615})"));
  const OneCondition huge = MustParse(R"({"key": "n", "range": {"gt": 1e19}})");
  std::map<uint32_t, Json> payloads{{1, Json::parse(R"({"n": 18446744073709551615})")}};
  CheckCondition(big, huge, payloads, "uint64 max");
}

// Integer payload values compare with range bounds as doubles (filter.h), and large integers
// round when converted: the index must agree with the per-point evaluation at the boundary.
TEST(FieldIndexTest, IntegerRangeAgreesAtLargeMagnitudes) {
  struct Case {
    const char* payload;
    const char* condition;
  };
  const Case cases[] = {
      // 2^60 - 1 rounds to 2^60 as a double: gte 2^60 matches it per point.
      {R"({"n": 1152921504606846975})", R"({"key": "n", "range": {"gte": 1152921504606846976}})"},
      {R"({"n": 1152921504606846975})", R"({"key": "n", "range": {"gt": 1152921504606846975}})"},
      {R"({"n": -1152921504606846977})", R"({"key": "n", "range": {"gte": -1152921504606846976}})"},
      // INT64_MAX is 2^63 as a double.
      {R"({"n": 9223372036854775807})", R"({"key": "n", "range": {"gte": 9223372036854775807}})"},
      {R"({"n": 9223372036854775807})", R"({"key": "n", "range": {"gte": 9.3e18}})"},
      {R"({"n": -9223372036854775808})", R"({"key": "n", "range": {"lte": -9223372036854775808}})"},
      {R"({"n": 9007199254740993})", R"({"key": "n", "range": {"gte": 9007199254740992, "lt": 9007199254740993}})"},
  };
  for (const Case& c : cases) {
    FieldIndex index(Path("n"), PayloadFieldType::kInteger);
    std::map<uint32_t, Json> payloads{{5, Json::parse(c.payload)}, {6, Json::parse(R"({"n": 0})")}};
    for (const auto& [id, p] : payloads) index.Set(id, p);
    const OneCondition cond = MustParse(c.condition);
    CheckCondition(index, cond, payloads, std::string(c.payload) + " " + c.condition);

    FieldIndex floats(Path("n"), PayloadFieldType::kFloat);
    for (const auto& [id, p] : payloads) floats.Set(id, p);
    CheckCondition(floats, cond, payloads, std::string("float index: ") + c.payload + " " + c.condition);
  }
}

TEST(FieldIndexTest, FloatIndexAnswersRangesOverIntegersAndFloats) {
  FieldIndex index(Path("price"), PayloadFieldType::kFloat);
  std::map<uint32_t, Json> payloads;
  const char* values[] = {R"({"price": 1})",    R"({"price": 1.5})",      R"({"price": -0.0})", R"({"price": 0})",
                          R"({"price": [2, 9.75]})", R"({"price": "3"})", R"({"price": true})", R"({"price": null})",
                          R"({"other": 1})",    R"({"price": 1e300})",    R"({"price": -2.5})", R"({"price": 2.0})"};
  uint32_t id = 10;
  for (const char* v : values) payloads[id++] = Json::parse(v);
  for (const auto& [i, p] : payloads) index.Set(i, p);
  const char* conditions[] = {
      R"({"key": "price", "range": {"gte": 0}})",           R"({"key": "price", "range": {"gt": 0}})",
      R"({"key": "price", "range": {"lt": 0}})",            R"({"key": "price", "range": {"lte": 0}})",
      R"({"key": "price", "range": {"gt": 1, "lt": 2}})",   R"({"key": "price", "range": {"gte": 1, "lte": 2}})",
      R"({"key": "price", "range": {"gte": 9.75}})",        R"({"key": "price", "range": {"gt": 1e299}})",
      R"({"key": "price", "range": {"gt": 5, "lt": 1}})",   R"({"key": "price", "range": {"lt": -100}})",
      R"({"key": "price", "range": {"gte": 1.5, "lte": 1.5}})",
  };
  for (const char* c : conditions) {
    EXPECT_TRUE(CheckCondition(index, MustParse(c), payloads, c)) << "float index declined " << c;
  }
  // A float index does not answer match (nothing to compare a string, an integer or a bool with).
  EXPECT_FALSE(index.Evaluate(MustParse(R"({"key": "price", "match": {"value": 1}})").field()).has_value());
  EXPECT_EQ(index.points(), PointsWithValues(index.path(), PayloadFieldType::kFloat, payloads));
}

TEST(FieldIndexTest, BoolMatchesOnlyBooleans) {
  FieldIndex index(Path("ok"), PayloadFieldType::kBool);
  std::map<uint32_t, Json> payloads;
  const char* values[] = {R"({"ok": true})", R"({"ok": false})", R"({"ok": [true, false]})", R"({"ok": 1})",
                          R"({"ok": "true"})", R"({"ok": null})", R"({})", R"({"ok": [false]})"};
  uint32_t id = 0;
  for (const char* v : values) payloads[id++] = Json::parse(v);
  for (const auto& [i, p] : payloads) index.Set(i, p);
  for (const char* c : {R"({"key": "ok", "match": {"value": true}})", R"({"key": "ok", "match": {"value": false}})",
                        R"({"key": "ok", "match": {"any": [true, false]}})"}) {
    EXPECT_TRUE(CheckCondition(index, MustParse(c), payloads, c)) << "bool index declined " << c;
  }
  // Another type in match: only the per-point evaluation can tell.
  CheckCondition(index, MustParse(R"({"key": "ok", "match": {"value": 1}})"), payloads, "int on bool");
  CheckCondition(index, MustParse(R"({"key": "ok", "match": {"value": "true"}})"), payloads, "string on bool");
  EXPECT_EQ(index.points(), 4u);
}

// Paths through objects and arrays index exactly the values the evaluation walks.
TEST(FieldIndexTest, NestedAndArrayPaths) {
  std::map<uint32_t, Json> payloads;
  const char* values[] = {
      R"({"a": {"b": 1}})",
      R"({"a": [{"b": 2}, {"b": 3}]})",
      R"({"a": [{"b": [4, 5]}, {"c": 1}, 7]})",
      R"({"a": {"b": {"c": 1}}})",
      R"({"a": [[{"b": 1}]]})",
      R"({"a": 1})",
      R"({"tags": ["x", "y"], "a": {"b": [1, [2]]}})",
      R"({"tags": "x"})",
      R"({"tags": [["x"]]})",
      R"({"tags": []})",
  };
  uint32_t id = 0;
  for (const char* v : values) payloads[id++] = Json::parse(v);
  for (const char* path : {"a.b", "a[].b", "a[0].b", "tags", "tags[]", "tags[1]", "a.b[]"}) {
    for (PayloadFieldType type : {PayloadFieldType::kKeyword, PayloadFieldType::kInteger, PayloadFieldType::kFloat}) {
      FieldIndex index(Path(path), type);
      for (const auto& [i, p] : payloads) index.Set(i, p);
      const std::string p(path);
      const std::vector<std::string> conditions = {
          R"({"key": ")" + p + R"(", "match": {"value": 1}})",
          R"({"key": ")" + p + R"(", "match": {"value": 2}})",
          R"({"key": ")" + p + R"(", "match": {"any": [4, 3]}})",
          R"({"key": ")" + p + R"(", "match": {"value": "x"}})",
          R"({"key": ")" + p + R"(", "match": {"any": ["y", "z"]}})",
          R"({"key": ")" + p + R"(", "range": {"gte": 2, "lte": 4}})",
          R"({"key": ")" + p + R"(", "range": {"lt": 100}})",
      };
      for (const std::string& c : conditions) {
        CheckCondition(index, MustParse(c), payloads, std::string(PayloadFieldTypeName(type)) + " " + c);
      }
      EXPECT_EQ(index.points(), PointsWithValues(index.path(), type, payloads)) << path;
    }
  }
}

TEST(FieldIndexTest, MatchOfAbsentValuesIsEmptyNotDeclined) {
  FieldIndex kw(Path("k"), PayloadFieldType::kKeyword);
  kw.Set(1, Json::parse(R"({"k": "a"})"));
  std::optional<Bitmap> none = kw.Evaluate(MustParse(R"({"key": "k", "match": {"value": "zzz"}})").field());
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->isEmpty());
  FieldIndex in(Path("k"), PayloadFieldType::kInteger);
  in.Set(1, Json::parse(R"({"k": 1})"));
  std::optional<Bitmap> none2 = in.Evaluate(MustParse(R"({"key": "k", "match": {"any": [5, 6]}})").field());
  ASSERT_TRUE(none2.has_value());
  EXPECT_TRUE(none2->isEmpty());
  // A value that existed and went away leaves an empty bitmap behind: still answered, still empty.
  in.Erase(1);
  std::optional<Bitmap> gone = in.Evaluate(MustParse(R"({"key": "k", "match": {"value": 1}})").field());
  ASSERT_TRUE(gone.has_value());
  EXPECT_TRUE(gone->isEmpty());
  std::optional<Bitmap> gone_range = in.Evaluate(MustParse(R"({"key": "k", "range": {"gte": 0}})").field());
  ASSERT_TRUE(gone_range.has_value());
  EXPECT_TRUE(gone_range->isEmpty());
}

TEST(FieldIndexTest, MemoryGrowsWithContent) {
  FieldIndex index(Path("k"), PayloadFieldType::kKeyword);
  const size_t empty = index.memory_bytes();
  for (uint32_t i = 0; i < 1000; ++i) index.Set(i, Json{{"k", "value-" + std::to_string(i % 50)}});
  EXPECT_GT(index.memory_bytes(), empty);
}

}  // namespace
}  // namespace vecdex::payload
