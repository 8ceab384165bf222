// PayloadIndexes::Resolve: the candidates it gives against the per-point evaluation.
//
// The property: when Resolve says exact, its ids (every live point when not narrowed) are exactly
// the matches; when it narrowed, its ids hold every match (and only live points). Random filters
// (must / should / must_not / min_should / nested / has_id / sub-filters) over random payloads,
// with some fields indexed and some not; then hand-written cases pin the combination rules.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "filter/json_path.h"
#include "payload/payload_gen.h"
#include "payload/payload_indexes.h"
#include "testutil/test_util.h"
#include "vecdex/filter.h"

namespace vecdex::payload {
namespace {

using payloadtest::Json;
using payloadtest::Rng;
using IdSet = std::set<Label>;

FieldPath Path(const std::string& text) {
  Result<FieldPath> p = filter::ParseFieldPath(text);
  EXPECT_TRUE(p.ok()) << text;
  return p.ok() ? *p : FieldPath{};
}

Filter MustParse(const std::string& json) {
  Result<Filter> f = ParseFilter(json);
  EXPECT_TRUE(f.ok()) << json << ": " << f.status().ToString();
  return f.ok() ? std::move(*f) : Filter{};
}

std::string Show(const IdSet& s) {
  std::string out = "{";
  size_t n = 0;
  for (Label id : s) {
    if (n++ == 16) {
      out += " ...";
      break;
    }
    out.append(" ").append(std::to_string(id));
  }
  // Appended piecewise: `out + " } (" + ...` trips GCC 12's -Wrestrict.
  out.append(" } (").append(std::to_string(s.size())).append(")");
  return out;
}

// A collection in miniature: point key k has id IdOf(k) (not k, so that a mix-up shows), a
// payload, and may be deleted.
class PayloadIndexesTest : public ::testing::Test {
 protected:
  static Label IdOf(uint64_t key) { return key * 3 + 1; }

  void Upsert(uint64_t key, Json payload) {
    indexes_.Set(IdOf(key), payload);
    live_[key] = std::move(payload);
  }
  void Delete(uint64_t key) {
    indexes_.Erase(IdOf(key));
    live_.erase(key);
  }
  void Index(const std::string& path, PayloadFieldType type) {
    indexes_.AddField(Path(path), type);
    for (const auto& [key, payload] : live_) indexes_.FieldSet(path, IdOf(key), payload);
    indexes_.MarkReady(path);
  }

  PayloadIndexes::KeyResolver Resolver() {
    return [this](std::span<const PointKey> keys) -> Result<std::vector<Label>> {
      ++resolver_calls_;
      std::vector<Label> ids;
      for (const PointKey& k : keys) {
        if (k.is_int() && live_.contains(k.int_value())) ids.push_back(IdOf(k.int_value()));
      }
      return ids;
    };
  }

  IdSet Matches(const Filter& f) const {
    IdSet out;
    for (const auto& [key, payload] : live_) {
      if (filter::Matches(f, PointKey::Int(key), payload)) out.insert(IdOf(key));
    }
    return out;
  }
  IdSet Live() const {
    IdSet out;
    for (const auto& [key, payload] : live_) out.insert(IdOf(key));
    return out;
  }
  static IdSet ToSet(const Bitmap& b) {
    IdSet out;
    for (uint32_t id : b) out.insert(id);
    return out;
  }

  // Resolves `f` and checks the property; returns the candidates.
  Candidates Check(const Filter& f, const std::string& context) {
    Result<Candidates> r = indexes_.Resolve(f, Resolver());
    EXPECT_TRUE(r.ok()) << context << ": " << r.status().ToString();
    if (!r.ok()) return {};
    const IdSet want = Matches(f);
    const IdSet live = Live();
    const IdSet got = r->narrowed ? ToSet(r->ids) : live;
    if (r->exact) {
      EXPECT_EQ(got, want) << context << " " << FilterToJson(f) << ": exact answer " << Show(got) << ", per point "
                           << Show(want) << (r->narrowed ? "" : " (not narrowed: every live point)");
    } else {
      for (Label id : want) {
        if (!got.contains(id)) {
          ADD_FAILURE() << context << " " << FilterToJson(f) << ": candidates " << Show(got) << " miss match " << id;
          break;
        }
      }
    }
    for (Label id : got) {
      if (!live.contains(id)) {
        ADD_FAILURE() << context << " " << FilterToJson(f) << ": candidate " << id << " is not a live point";
        break;
      }
    }
    return std::move(*r);
  }

  PayloadIndexes indexes_;
  std::map<uint64_t, Json> live_;
  size_t resolver_calls_ = 0;
};

// The property over random filters, with payloads replaced and points deleted, with indexes
// created before and after the data.
TEST_F(PayloadIndexesTest, RandomFiltersAgreeWithPerPointEvaluation) {
  constexpr uint64_t kPoints = 600;
  Rng rng(42);
  indexes_.ResetPoints({});
  // Two fields indexed before the data, the rest after.
  Index("kw", PayloadFieldType::kKeyword);
  Index("n", PayloadFieldType::kInteger);
  for (uint64_t key = 0; key < kPoints; ++key) Upsert(key, payloadtest::RandomPayload(rng, key));
  Index("m", PayloadFieldType::kInteger);  // floats seen: ranges inexact
  Index("f", PayloadFieldType::kFloat);
  Index("b", PayloadFieldType::kBool);
  Index("a.b", PayloadFieldType::kInteger);
  Index("tags[]", PayloadFieldType::kKeyword);
  Index("tags", PayloadFieldType::kKeyword);
  Index("items[].x", PayloadFieldType::kInteger);
  Index("u", PayloadFieldType::kFloat);
  // Churn: replace payloads, delete points, bring some back.
  for (uint64_t key = 0; key < kPoints; ++key) {
    const size_t what = payloadtest::Uniform(rng, 10);
    if (what < 2) Upsert(key, payloadtest::RandomPayload(rng, key));
    if (what == 2) Delete(key);
  }
  for (uint64_t key = 0; key < kPoints; key += 37) Upsert(key, payloadtest::RandomPayload(rng, key));

  size_t exact = 0, narrowed = 0, exact_narrowed_nonempty = 0;
  const int rounds = payloadtest::kSanitizedBuild ? 500 : 1500;
  for (int i = 0; i < rounds; ++i) {
    const Json text = payloadtest::RandomFilter(rng, 2, kPoints);
    Result<Filter> f = ParseFilter(text.dump());
    ASSERT_TRUE(f.ok()) << text.dump() << ": " << f.status().ToString();
    const Candidates c = Check(*f, "filter " + std::to_string(i));
    exact += c.exact;
    narrowed += c.narrowed;
    exact_narrowed_nonempty += c.exact && c.narrowed && !c.ids.isEmpty();
    if (HasFailure()) return;
  }
  // The generator must exercise the indexes, not only the fallback.
  const std::string tally = "exact " + std::to_string(exact) + ", narrowed " + std::to_string(narrowed) +
                            ", exact and narrowed to a non-empty set " + std::to_string(exact_narrowed_nonempty);
  EXPECT_GT(exact * 1500, 60u * rounds) << tally;
  EXPECT_GT(narrowed * 1500, 300u * rounds) << tally;
  EXPECT_GT(exact_narrowed_nonempty * 1500, 40u * rounds) << tally;
}

// Without any field indexed only has_id narrows; nothing else is ever claimed exact unless the
// filter is made of has_id alone.
TEST_F(PayloadIndexesTest, WithoutIndexesOnlyHasIdNarrows) {
  Rng rng(7);
  for (uint64_t key = 0; key < 300; ++key) Upsert(key, payloadtest::RandomPayload(rng, key));
  EXPECT_FALSE(indexes_.HasFields());
  for (int i = 0; i < (payloadtest::kSanitizedBuild ? 150 : 500); ++i) {
    Result<Filter> f = ParseFilter(payloadtest::RandomFilter(rng, 2, 300).dump());
    ASSERT_TRUE(f.ok());
    Check(*f, "unindexed " + std::to_string(i));
    if (HasFailure()) return;
  }
}

TEST_F(PayloadIndexesTest, CombinationRules) {
  for (uint64_t key = 0; key < 40; ++key) {
    Json p = {{"color", key % 4 == 0 ? "red" : "blue"}, {"n", key % 10}, {"free", key % 3}};
    if (key % 5 == 0) p["items"] = Json::array({Json{{"x", key % 2}}});
    Upsert(key, p);
  }
  Index("color", PayloadFieldType::kKeyword);
  Index("n", PayloadFieldType::kInteger);
  const std::string red = R"({"key": "color", "match": {"value": "red"}})";
  const std::string small = R"({"key": "n", "range": {"lt": 3}})";
  const std::string free0 = R"({"key": "free", "match": {"value": 0}})";  // unindexed
  struct Case {
    std::string filter;
    bool narrowed, exact;
  };
  const std::vector<Case> cases = {
      {"{}", false, true},
      {R"({"must": [)" + red + "]}", true, true},
      {R"({"must": [)" + red + "," + small + "]}", true, true},
      {R"({"must": [)" + red + "," + free0 + "]}", true, false},
      {R"({"must": [)" + free0 + "]}", false, false},
      {R"({"should": [)" + red + "," + small + "]}", true, true},
      {R"({"should": [)" + red + "," + free0 + "]}", false, false},
      {R"({"must_not": [)" + red + "]}", true, true},
      {R"({"must_not": [)" + free0 + "]}", false, false},
      {R"({"must": [)" + small + R"(], "must_not": [)" + red + "]}", true, true},
      {R"({"must": [)" + small + R"(], "must_not": [)" + free0 + "]}", true, false},
      {R"({"must": [{"should": [)" + red + "," + small + R"(]}, {"must_not": [)" + small + "]}]}", true, true},
      {R"({"must": [{"nested": {"key": "items", "filter": {"must": [{"key": "x", "match": {"value": 1}}]}}}]})", false,
       false},
      {R"({"must": [)" + red + R"(, {"nested": {"key": "items", "filter": {"must": [{"key": "x", "match": {"value": 0}}]}}}]})",
       true, false},
      {R"({"min_should": {"conditions": [)" + red + "," + small + R"(], "min_count": 2}})", false, false},
      {R"({"must": [)" + red + R"(], "min_should": {"conditions": [)" + small + R"(], "min_count": 1}})", true, false},
      {R"({"must": [{"has_id": [0, 1, 2, 3, 4, 999]}]})", true, true},
      {R"({"must": [{"has_id": [0, 1, 2, 3, 4]}, )" + red + "]}", true, true},
      {R"({"must_not": [{"has_id": [0, 1, 2]}]})", true, true},
      {R"({"should": [{"has_id": [5]}, )" + red + "]}", true, true},
      {R"({"must": [{"is_empty": {"key": "color"}}]})", false, false},
      {R"({"must": [{"key": "color", "match": {"except": ["red"]}}]})", false, false},
      {R"({"must": [{"key": "color", "match": {"value": 3}}]})", false, false},  // an int on a keyword index
      {R"({"must_not": [{"must": []}]})", true, true},  // must_not of "everything": nothing
  };
  for (const Case& c : cases) {
    Filter f = MustParse(c.filter);
    const Candidates got = Check(f, c.filter);
    EXPECT_EQ(got.narrowed, c.narrowed) << c.filter;
    EXPECT_EQ(got.exact, c.exact) << c.filter;
  }
}

TEST_F(PayloadIndexesTest, HasIdLeavesOutDeletedAndAbsentKeys) {
  for (uint64_t key = 0; key < 10; ++key) Upsert(key, Json{{"k", key}});
  Delete(3);
  Filter f = MustParse(R"({"must": [{"has_id": [1, 3, 5, 77, "some-string"]}]})");
  const Candidates c = Check(f, "has_id");
  EXPECT_TRUE(c.narrowed);
  EXPECT_TRUE(c.exact);
  EXPECT_EQ(ToSet(c.ids), (IdSet{IdOf(1), IdOf(5)}));
  EXPECT_GE(resolver_calls_, 1u);
  // A key the resolver still maps (a stale answer) must not come back once the point is erased.
  auto stale = [](std::span<const PointKey>) -> Result<std::vector<Label>> { return std::vector<Label>{IdOf(3)}; };
  Result<Candidates> r = indexes_.Resolve(f, stale);
  ASSERT_OK(r);
  EXPECT_TRUE(r->ids.isEmpty()) << "has_id returned a deleted point";
}

TEST_F(PayloadIndexesTest, ResolverErrorsPropagate) {
  Upsert(1, Json{{"k", 1}});
  auto failing = [](std::span<const PointKey>) -> Result<std::vector<Label>> { return Status::IOError("disk gone"); };
  Result<Candidates> r = indexes_.Resolve(MustParse(R"({"should": [{"has_id": [1]}]})"), failing);
  EXPECT_STATUS(r, StatusCode::kIOError);
}

// A field being built is not used until it is ready: filters on it are inexact meanwhile.
TEST_F(PayloadIndexesTest, FieldsAreUsedOnlyOnceReady) {
  for (uint64_t key = 0; key < 50; ++key) Upsert(key, Json{{"c", key % 2 == 0 ? "even" : "odd"}});
  indexes_.AddField(Path("c"), PayloadFieldType::kKeyword);
  for (uint64_t key = 0; key < 20; ++key) indexes_.FieldSet("c", IdOf(key), live_[key]);  // half built
  Filter f = MustParse(R"({"must": [{"key": "c", "match": {"value": "even"}}]})");
  Candidates c = Check(f, "building");
  EXPECT_FALSE(c.exact) << "a half-built index answered";
  std::vector<PayloadIndexInfo> fields = indexes_.Fields();
  ASSERT_EQ(fields.size(), 1u);
  EXPECT_FALSE(fields[0].ready);
  // Writes during the build reach the new field too.
  Upsert(48, Json{{"c", "odd"}});
  Upsert(100, Json{{"c", "even"}});
  for (uint64_t key = 20; key < 50; ++key) indexes_.FieldSet("c", IdOf(key), live_[key]);
  indexes_.MarkReady("c");
  c = Check(f, "ready");
  EXPECT_TRUE(c.exact);
  EXPECT_TRUE(c.narrowed);
  fields = indexes_.Fields();
  ASSERT_EQ(fields.size(), 1u);
  EXPECT_TRUE(fields[0].ready);
  EXPECT_EQ(fields[0].points, live_.size());
  // FieldSet after ready is ignored (a late fill must not undo a write).
  indexes_.FieldSet("c", IdOf(100), Json{{"c", "odd"}});
  Check(f, "late FieldSet");
}

TEST_F(PayloadIndexesTest, SchemaAddReplaceDrop) {
  for (uint64_t key = 0; key < 30; ++key) Upsert(key, Json{{"z", key}, {"a", "x"}, {"m", key % 2 == 0}});
  Index("z", PayloadFieldType::kInteger);
  Index("a", PayloadFieldType::kKeyword);
  Index("m", PayloadFieldType::kBool);
  std::vector<PayloadIndexInfo> fields = indexes_.Fields();
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0].field, "a");  // sorted by path
  EXPECT_EQ(fields[1].field, "m");
  EXPECT_EQ(fields[2].field, "z");
  EXPECT_EQ(fields[0].points, 30u);
  EXPECT_EQ(fields[2].type, PayloadFieldType::kInteger);

  // Replacing z's type: a keyword index on integers holds nothing and answers int matches never.
  Index("z", PayloadFieldType::kKeyword);
  fields = indexes_.Fields();
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[2].type, PayloadFieldType::kKeyword);
  EXPECT_EQ(fields[2].points, 0u);
  Check(MustParse(R"({"must": [{"key": "z", "match": {"value": 3}}]})"), "replaced type");

  EXPECT_TRUE(indexes_.DropField("m"));
  EXPECT_FALSE(indexes_.DropField("m"));
  EXPECT_FALSE(indexes_.DropField("nope"));
  EXPECT_EQ(indexes_.Fields().size(), 2u);
  const Candidates c = Check(MustParse(R"({"must": [{"key": "m", "match": {"value": true}}]})"), "dropped");
  EXPECT_FALSE(c.exact);
  EXPECT_GT(indexes_.memory_bytes(), 0u);
}

TEST_F(PayloadIndexesTest, PointSetFollowsResetSetErase) {
  const std::vector<Label> ids = {9, 3, 7, 1};
  indexes_.ResetPoints(ids);
  EXPECT_EQ(indexes_.point_count(), 4u);
  EXPECT_EQ(ToSet(indexes_.AllPoints()), (IdSet{1, 3, 7, 9}));
  indexes_.Set(11, Json());
  indexes_.Erase(3);
  indexes_.Erase(3);
  indexes_.Erase(12345);
  EXPECT_EQ(ToSet(indexes_.AllPoints()), (IdSet{1, 7, 9, 11}));
  indexes_.ResetPoints({});
  EXPECT_EQ(indexes_.point_count(), 0u);
}

// Ids beyond 32 bits cannot be held: the indexes stop answering (every filter per point).
TEST_F(PayloadIndexesTest, IdsBeyondThirtyTwoBitsDisableNarrowing) {
  for (uint64_t key = 0; key < 10; ++key) Upsert(key, Json{{"c", "x"}});
  Index("c", PayloadFieldType::kKeyword);
  const Filter f = MustParse(R"({"must": [{"key": "c", "match": {"value": "x"}}]})");
  ASSERT_TRUE(Check(f, "before").exact);
  indexes_.Set(PayloadIndexes::kMaxId + 1, Json{{"c", "x"}});
  Result<Candidates> r = indexes_.Resolve(f, Resolver());
  ASSERT_OK(r);
  EXPECT_FALSE(r->narrowed);
  EXPECT_FALSE(r->exact);

  PayloadIndexes fresh;
  const std::vector<Label> big = {1, PayloadIndexes::kMaxId + 5};
  fresh.ResetPoints(big);
  Result<Candidates> r2 = fresh.Resolve(MustParse(R"({"must": [{"has_id": [1]}]})"), Resolver());
  ASSERT_OK(r2);
  EXPECT_FALSE(r2->narrowed);
  EXPECT_FALSE(r2->exact);
}

// Resolve runs beside writers (ThreadSanitizer checks the locking); every answer is one of a
// consistent state's: with payloads flipping between two values, a point is in exactly one.
TEST_F(PayloadIndexesTest, ResolveConcurrentWithWrites) {
  for (uint64_t key = 0; key < 200; ++key) Upsert(key, Json{{"c", "a"}});
  Index("c", PayloadFieldType::kKeyword);
  const Filter fa = MustParse(R"({"must": [{"key": "c", "match": {"value": "a"}}]})");
  const Filter fb = MustParse(R"({"must": [{"key": "c", "match": {"any": ["b"]}}]})");
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    Rng rng(3);
    for (int i = 0; i < 4000; ++i) {
      const Label id = IdOf(payloadtest::Uniform(rng, 200));
      indexes_.Set(id, Json{{"c", payloadtest::Chance(rng, 0.5) ? "a" : "b"}});
      if (i % 50 == 0) indexes_.Erase(id);
      if (i % 50 == 1) indexes_.Set(id, Json{{"c", "a"}});
    }
    stop = true;
  });
  auto none = [](std::span<const PointKey>) -> Result<std::vector<Label>> { return std::vector<Label>{}; };
  size_t rounds = 0;
  while (!stop.load() || rounds < 10) {
    Result<Candidates> a = indexes_.Resolve(fa, none);
    Result<Candidates> b = indexes_.Resolve(fb, none);
    EXPECT_OK(a);
    EXPECT_OK(b);
    if (!a.ok() || !b.ok()) break;  // (no ASSERT: the writer must be joined)
    EXPECT_TRUE(a->exact && a->narrowed && b->exact && b->narrowed);
    EXPECT_LE(a->ids.cardinality(), 200u);
    EXPECT_LE(b->ids.cardinality(), 200u);
    (void)indexes_.Fields();
    (void)indexes_.point_count();
    ++rounds;
  }
  writer.join();
}

}  // namespace
}  // namespace vecdex::payload
