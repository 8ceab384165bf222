// Properties over randomly generated (seeded) filters and payloads: FilterToJson round-trips
// through ParseFilter, and the boolean clauses obey their algebra (must_not = not must, should =
// or, min_should = counting) against the conditions evaluated one by one.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>

#include "filter/json_path.h"
#include "testutil/test_util.h"
#include "vecdex/filter.h"

namespace vecdex {
namespace {

using Json = nlohmann::json;

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  size_t Uniform(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool Coin() { return Uniform(2) == 0; }

  FieldPath Path() {
    static const char* kPaths[] = {"a", "b", "a.b", "a[].b", "c[]", "c[0]", "d.e.f", "n", "n[]", "s"};
    Result<FieldPath> p = filter::ParseFieldPath(kPaths[Uniform(std::size(kPaths))]);
    EXPECT_TRUE(p.ok());
    return std::move(p).value();
  }

  MatchValue Value() {
    switch (Uniform(3)) {
      case 0: {
        static const char* kWords[] = {"", "x", "y", "red", "a\"b", "\xc3\xa9t\xc3\xa9", "\\"};
        return std::string(kWords[Uniform(std::size(kWords))]);
      }
      case 1: {
        static const int64_t kInts[] = {0, 1, 2, -1, 3, INT64_MAX, INT64_MIN};
        return kInts[Uniform(std::size(kInts))];
      }
      default:
        return Coin();
    }
  }

  std::vector<MatchValue> Values(size_t min) {
    std::vector<MatchValue> out(min + Uniform(4));
    for (MatchValue& v : out) v = Value();
    return out;
  }

  std::optional<double> Bound(bool counts) {
    if (Coin()) return std::nullopt;
    if (counts) return static_cast<double>(Uniform(4));
    static const double kBounds[] = {0.0, -0.0, 1.0, 2.5, -3.25, 1e300, 0.1, 9007199254740993.0, -1e-300};
    return kBounds[Uniform(std::size(kBounds))];
  }

  RangeBounds Range(bool counts) {
    RangeBounds r;
    while (!r.gt && !r.gte && !r.lt && !r.lte) {
      r.gt = Bound(counts);
      r.gte = Bound(counts);
      r.lt = Bound(counts);
      r.lte = Bound(counts);
    }
    return r;
  }

  FieldCondition Field() {
    FieldCondition c;
    c.path = Path();
    switch (Uniform(6)) {
      case 0:
        c.match_value = Value();
        break;
      case 1:
        c.match_any = Values(1);
        break;
      case 2:
        c.match_except = Values(0);
        break;
      case 3:
        c.match_text = Coin() ? "r" : "";
        break;
      case 4:
        c.range = Range(false);
        break;
      default:
        c.values_count = Range(true);
        break;
    }
    return c;
  }

  Condition Leaf(bool in_nested) {
    switch (Uniform(in_nested ? 3 : 4)) {
      case 0:
        return IsEmptyCondition{Path()};
      case 1:
        return IsNullCondition{Path()};
      case 2:
        return Field();
      default: {
        HasIdCondition c;
        for (size_t i = Uniform(4); i > 0; --i) {
          c.keys.push_back(Coin() ? PointKey::Int(Uniform(5)) : PointKey::String(std::string(1 + Uniform(2), 'k')));
        }
        std::sort(c.keys.begin(), c.keys.end());  // as the parser leaves them
        c.keys.erase(std::unique(c.keys.begin(), c.keys.end()), c.keys.end());
        return c;
      }
    }
  }

  Condition Any(size_t depth, bool in_nested) {
    if (depth < 4) {
      const size_t kind = Uniform(6);
      if (kind == 0) return FilterCondition{std::make_shared<Filter>(MakeFilter(depth + 1, in_nested))};
      if (kind == 1) return NestedCondition{Path(), std::make_shared<Filter>(MakeFilter(depth + 1, true))};
    }
    return Leaf(in_nested);
  }

  std::vector<Condition> Conditions(size_t depth, bool in_nested) {
    std::vector<Condition> out;
    for (size_t i = Uniform(4); i > 0; --i) out.push_back(Any(depth, in_nested));
    return out;
  }

  Filter MakeFilter(size_t depth, bool in_nested) {
    Filter f;
    f.must = Conditions(depth, in_nested);
    f.should = Conditions(depth, in_nested);
    f.must_not = Conditions(depth, in_nested);
    if (Uniform(3) == 0) f.min_should = MinShould{Conditions(depth, in_nested), Uniform(3)};
    return f;
  }

  // A payload over the generator's paths, with values of every kind.
  Json RandomValue(size_t depth) {
    switch (Uniform(depth > 2 ? 7 : 9)) {
      case 0:
        return nullptr;
      case 1:
        return Coin();
      case 2:
        return static_cast<int64_t>(Uniform(5)) - 1;
      case 3:
        return Coin() ? 2.5 : 1.0;
      case 4:
        return Coin() ? "red" : "x";
      case 5: {
        Json s = MatchValueToJson(Value());
        return s;
      }
      case 6:
        return Json::array();
      case 7: {
        Json a = Json::array();
        for (size_t i = Uniform(4); i > 0; --i) a.push_back(RandomValue(depth + 1));
        return a;
      }
      default:
        return RandomObject(depth + 1);
    }
  }

  Json RandomObject(size_t depth) {
    static const char* kKeys[] = {"a", "b", "c", "d", "e", "f", "n", "s"};
    Json o = Json::object();
    for (const char* key : kKeys) {
      if (Uniform(3) == 0) o[key] = RandomValue(depth);
    }
    return o;
  }

  static Json MatchValueToJson(const MatchValue& v) {
    if (v.index() == 0) return std::get<std::string>(v);
    if (v.index() == 1) return std::get<int64_t>(v);
    return std::get<bool>(v);
  }

 private:
  std::mt19937_64 rng_;
};

TEST(FilterRoundTripTest, RandomFiltersRoundTrip) {
  Generator gen(20240611);
  for (int i = 0; i < 2000; ++i) {
    const Filter original = gen.MakeFilter(1, false);
    const std::string json = FilterToJson(original);
    Result<Filter> parsed = ParseFilter(json);
    ASSERT_TRUE(parsed.ok()) << json << "\n" << parsed.status().ToString();
    ASSERT_EQ(FilterToJson(*parsed), json);
    // Same answers on random payloads and keys.
    for (int p = 0; p < 5; ++p) {
      const Json payload = gen.RandomObject(0);
      const PointKey key = gen.Coin() ? PointKey::Int(gen.Uniform(5)) : PointKey::String("k");
      ASSERT_EQ(filter::Matches(original, key, payload), filter::Matches(*parsed, key, payload))
          << json << "\n" << payload.dump();
    }
  }
}

TEST(FilterRoundTripTest, CanonicalFormIsStable) {
  // Different spellings of one filter have one canonical form.
  const char* spellings[] = {
      R"({"must": {"key": "a", "match": {"value": 1}}, "should": null})",
      R"({"must": [{"match": {"value": 1}, "key": "a", "range": null}]})",
      R"( { "must" : [ { "key" : "a" , "match" : { "value" : 1 , "any" : null } } ] , "must_not" : [] } )",
  };
  for (const char* s : spellings) {
    Result<Filter> f = ParseFilter(s);
    ASSERT_OK(f);
    EXPECT_EQ(FilterToJson(*f), R"({"must":[{"key":"a","match":{"value":1}}]})") << s;
  }
  Result<Filter> f = ParseFilter(R"({"should": [{"must": []}], "must_not": [{"has_id": ["b", 2, "a", 2]}],
      "min_should": {"conditions": [{"key": "x", "values_count": {"gte": 3}}, {"key": "y", "range": {"lt": 2}}], "min_count": 1}})");
  ASSERT_OK(f);
  EXPECT_EQ(FilterToJson(*f),
            R"({"min_should":{"conditions":[{"key":"x","values_count":{"gte":3}},{"key":"y","range":{"lt":2.0}}],)"
            R"("min_count":1},"must_not":[{"has_id":[2,"a","b"]}],"should":[{"must":[]}]})");
}

// Evaluates one condition alone, as a filter {"must": [c]}.
bool One(const Condition& c, const PointKey& key, const Json& payload) {
  Filter f;
  f.must.push_back(c);
  return filter::Matches(f, key, payload);
}

TEST(FilterRoundTripTest, ClauseAlgebra) {
  Generator gen(7);
  for (int i = 0; i < 3000; ++i) {
    std::vector<Condition> conditions = gen.Conditions(2, false);
    const Json payload = gen.RandomObject(0);
    const PointKey key = gen.Coin() ? PointKey::Int(gen.Uniform(5)) : PointKey::String("kk");
    std::vector<bool> each;
    for (const Condition& c : conditions) each.push_back(One(c, key, payload));
    const size_t count = static_cast<size_t>(std::count(each.begin(), each.end(), true));

    Filter must, should, must_not, min_should, nested_filter;
    must.must = conditions;
    should.should = conditions;
    must_not.must_not = conditions;
    const size_t min_count = gen.Uniform(4);
    min_should.min_should = MinShould{conditions, min_count};
    nested_filter.must.push_back(FilterCondition{std::make_shared<Filter>(should)});
    const std::string where = FilterToJson(must) + "\n" + payload.dump();
    EXPECT_EQ(filter::Matches(must, key, payload), count == conditions.size()) << where;
    EXPECT_EQ(filter::Matches(should, key, payload), conditions.empty() || count > 0) << where;
    EXPECT_EQ(filter::Matches(must_not, key, payload), count == 0) << where;
    EXPECT_EQ(filter::Matches(min_should, key, payload), count >= min_count) << where;
    EXPECT_EQ(filter::Matches(nested_filter, key, payload), filter::Matches(should, key, payload)) << where;
  }
}

}  // namespace
}  // namespace vecdex
