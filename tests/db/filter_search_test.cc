// Filtered search, counts, deletes and scrolls through the public API, for every index kind,
// against a model of the payloads kept by the test.
//
// The contract checked on every answer: each result matches the filter (by the model), results
// are nearest first without duplicates, their number is min(k, matches) always (HNSW included,
// at any selectivity), flat gives exactly the filtered top k, HNSW a high recall of it, and
// exact = true the filtered top k on every index. Payload indexes must change no answer: with or
// without them, created before or after the data, dropped, rebuilt on reopen, and kept in step
// with every kind of write.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "db/db_test_util.h"
#include "filter/json_path.h"
#include "payload/payload_gen.h"
#include "vecdex/filter.h"

namespace vecdex::dbtest {
namespace {

using payloadtest::Json;
using payloadtest::Rng;

constexpr size_t kDim = 12;

// One point as the test knows it: its vector and payload (null: none), parsed from the text the
// collection was given, so that value types are the collection's.
struct FPoint {
  std::vector<float> vector;
  Json payload;
};
using FModel = std::map<PointKey, FPoint>;

std::string PayloadText(const Json& p) { return p.is_null() ? std::string() : p.dump(); }

std::shared_ptr<const Filter> ParseShared(const std::string& json) {
  Result<Filter> f = ParseFilter(json);
  EXPECT_TRUE(f.ok()) << json << ": " << f.status().ToString();
  if (!f.ok()) return nullptr;
  return std::make_shared<const Filter>(std::move(*f));
}

// The fields the tests index, and their types.
const std::vector<std::pair<std::string, PayloadFieldType>>& IndexedFields() {
  static const std::vector<std::pair<std::string, PayloadFieldType>> fields = {
      {"kw", PayloadFieldType::kKeyword},   {"n", PayloadFieldType::kInteger},      {"f", PayloadFieldType::kFloat},
      {"b", PayloadFieldType::kBool},       {"tags[]", PayloadFieldType::kKeyword}, {"s", PayloadFieldType::kInteger},
      {"items[].x", PayloadFieldType::kInteger}, {"m", PayloadFieldType::kInteger}, {"a.b", PayloadFieldType::kInteger},
  };
  return fields;
}

// Points holding a value of `type` at `path` (PayloadIndexInfo::points).
uint64_t PointsWithValues(const FModel& model, const std::string& path_text, PayloadFieldType type) {
  Result<FieldPath> path = filter::ParseFieldPath(path_text);
  EXPECT_TRUE(path.ok());
  uint64_t n = 0;
  for (const auto& [key, p] : model) {
    bool any = false;
    if (p.payload.is_object()) {
      filter::ForEachValue(p.payload, *path, [&](const Json& v) { any = any || payloadtest::ValueOfType(v, type); });
    }
    n += any;
  }
  return n;
}

using Param = std::tuple<std::string, Metric>;

class FilterSearchTest : public DbTest, public ::testing::WithParamInterface<Param> {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    OpenDb(false);
    if (HasFatalFailure()) return;
    ASSERT_OK_AND_ASSIGN(c_, db_->CreateCollection("f", Config(kDim, metric(), spec())));
  }
  void TearDown() override {
    c_.reset();
    db_.reset();
    DbTest::TearDown();
  }

  const std::string& spec() const { return std::get<0>(GetParam()); }
  Metric metric() const { return std::get<1>(GetParam()); }
  bool flat() const { return spec() == "flat"; }

  void OpenDb(bool read_only) {
    DatabaseOptions options = QuietOptions();
    options.read_only = read_only;
    ASSERT_OK_AND_ASSIGN(db_, Database::Open(DbDir(), options));
  }
  // Closes the database cleanly and opens it again.
  void Reopen(bool read_only = false) {
    c_.reset();
    db_.reset();
    OpenDb(read_only);
    if (HasFatalFailure()) return;
    ASSERT_OK_AND_ASSIGN(c_, db_->GetCollection("f"));
  }

  static PointKey KeyFor(uint64_t i, uint64_t n) {
    // Mostly integer keys (has_id names them), the last tenth strings (scroll order).
    if (i < n - n / 10) return IntKey(i);
    char name[32];
    std::snprintf(name, sizeof(name), "p%06llu", static_cast<unsigned long long>(i));
    return StrKey(name);
  }
  // A point of key index i: random payload plus "s" = i (indexed) and "s2" = i (never indexed).
  Point NewPoint(Rng& rng, uint64_t i, uint64_t n, uint64_t version) {
    Json p = payloadtest::RandomPayload(rng, i);
    if (p.is_null()) p = Json::object();
    p["s"] = i;
    p["s2"] = i;
    return MakePoint(KeyFor(i, n), version, kDim, p.dump());
  }
  void Record(const std::vector<Point>& points) {
    for (const Point& p : points) {
      model_[p.key] = FPoint{p.vector, p.payload_json.empty() ? Json() : Json::parse(p.payload_json)};
    }
  }
  void Upsert(const std::vector<Point>& points) {
    ASSERT_OK(c_->Upsert(points));
    Record(points);
  }
  // n points in batches of 500 (int8 storage calibrates on the first).
  void Fill(uint64_t n, uint64_t seed) {
    Rng rng(seed);
    std::vector<Point> batch;
    for (uint64_t i = 0; i < n; ++i) {
      batch.push_back(NewPoint(rng, i, n, 1));
      if (batch.size() == 500 || i + 1 == n) {
        Upsert(batch);
        if (HasFatalFailure()) return;
        batch.clear();
      }
    }
  }
  void CreateIndexes(size_t first = 0, size_t last = SIZE_MAX) {
    const auto& fields = IndexedFields();
    for (size_t i = first; i < std::min(last, fields.size()); ++i) {
      ASSERT_OK(c_->CreatePayloadIndex(fields[i].first, fields[i].second));
    }
  }

  bool ModelMatches(const Filter& f, const PointKey& key) const {
    return filter::Matches(f, key, model_.at(key).payload);
  }
  std::set<PointKey> MatchingKeys(const Filter* f) const {
    std::set<PointKey> out;
    for (const auto& [key, p] : model_) {
      if (f == nullptr || filter::Matches(*f, key, p.payload)) out.insert(key);
    }
    return out;
  }
  // The filtered ranking of every matching point: (distance, key), nearest first.
  std::vector<std::pair<double, PointKey>> Ranking(const std::vector<float>& query, const Filter* f,
                                                   const std::optional<std::vector<PointKey>>& only = std::nullopt) const {
    std::vector<std::pair<double, PointKey>> out;
    for (const auto& [key, p] : model_) {
      if (f != nullptr && !filter::Matches(*f, key, p.payload)) continue;
      if (only && std::find(only->begin(), only->end(), key) == only->end()) continue;
      out.push_back({testutil::ReferenceDistance(metric(), query.data(), p.vector.data(), kDim), key});
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  static double Tolerance(double d) { return 1e-3 * (1.0 + std::abs(d)); }

  // Checks one answer to `request` for `query`; returns the recall of the ranking's slice
  // [offset, offset + k) (1 when empty). `exact`: the answer must be that slice (by distance).
  double CheckAnswer(const std::vector<ScoredPoint>& hits, const std::vector<float>& query,
                     const SearchRequest& request, bool exact, const std::string& context) {
    const Filter* f = request.filter.get();
    const auto ranking = Ranking(query, f, request.only_keys);
    const size_t begin = std::min(request.offset, ranking.size());
    const size_t want = std::min(request.k, ranking.size() - begin);
    const std::string where = context + " [" + (f == nullptr ? std::string("no filter") : FilterToJson(*f)) +
                              ", k " + std::to_string(request.k) + ", offset " + std::to_string(request.offset) +
                              (request.only_keys ? ", only_keys" : "") + ", " + std::to_string(ranking.size()) +
                              " matches]";
    EXPECT_EQ(hits.size(), want) << where << ": count must be min(k, matches)";
    std::set<PointKey> seen;
    for (size_t i = 0; i < hits.size(); ++i) {
      const ScoredPoint& h = hits[i];
      EXPECT_TRUE(seen.insert(h.key).second) << where << ": " << PointKeyToString(h.key) << " twice";
      auto it = model_.find(h.key);
      if (it == model_.end()) {
        ADD_FAILURE() << where << ": returned " << PointKeyToString(h.key) << ", which does not exist";
        continue;
      }
      if (request.only_keys) {
        EXPECT_NE(std::find(request.only_keys->begin(), request.only_keys->end(), h.key), request.only_keys->end())
            << where << ": " << PointKeyToString(h.key) << " is not among only_keys";
      }
      if (f != nullptr) {
        EXPECT_TRUE(filter::Matches(*f, h.key, it->second.payload))
            << where << ": " << PointKeyToString(h.key) << " does not match; payload " << it->second.payload.dump();
      }
      if (i > 0) {
        EXPECT_LE(hits[i - 1].distance, h.distance) << where << ": not nearest first at " << i;
      }
      const double truth = testutil::ReferenceDistance(metric(), query.data(), it->second.vector.data(), kDim);
      EXPECT_NEAR(h.distance, truth, Tolerance(truth)) << where << ": distance of " << PointKeyToString(h.key);
      EXPECT_FLOAT_EQ(h.score, DistanceToScore(metric(), h.distance));
      if (exact && i + begin < ranking.size()) {
        const double expected = ranking[begin + i].first;
        EXPECT_NEAR(h.distance, expected, Tolerance(expected))
            << where << ": result " << i << " is " << PointKeyToString(h.key) << ", expected "
            << PointKeyToString(ranking[begin + i].second);
      }
    }
    if (want == 0) return 1.0;
    std::set<PointKey> truth_keys;
    for (size_t i = begin; i < begin + want; ++i) truth_keys.insert(ranking[i].second);
    size_t hit = 0;
    for (const ScoredPoint& h : hits) hit += truth_keys.contains(h.key);
    return static_cast<double>(hit) / static_cast<double>(want);
  }

  // Searches and checks; adds the recall to the tally.
  void SearchAndCheck(const std::vector<float>& query, const SearchRequest& request, const std::string& context) {
    Result<std::vector<ScoredPoint>> hits = c_->Search(query, request);
    ASSERT_TRUE(hits.ok()) << context << ": " << hits.status().ToString();
    const double recall = CheckAnswer(*hits, query, request, flat() || request.exact, context);
    recall_sum_ += recall;
    ++recall_count_;
  }
  double MeanRecall() const { return recall_count_ == 0 ? 1.0 : recall_sum_ / static_cast<double>(recall_count_); }

  // Every point matching `f` through Scroll pages of `limit`; checks the order and the pages.
  std::vector<PointRecord> ScrollAll(const std::shared_ptr<const Filter>& f, size_t limit, bool with_payload,
                                     const std::string& context) {
    std::vector<PointRecord> out;
    ScrollRequest request;
    request.limit = limit;
    request.filter = f;
    request.with_payload = with_payload;
    for (int page = 0; page < 100000; ++page) {
      Result<ScrollResult> r = c_->Scroll(request);
      EXPECT_TRUE(r.ok()) << context << ": " << r.status().ToString();
      if (!r.ok()) return out;
      EXPECT_LE(r->points.size(), limit) << context;
      if (r->next.has_value()) {
        EXPECT_EQ(r->points.size(), limit) << context << ": a page short of the limit must be the last";
      }
      for (PointRecord& p : r->points) {
        if (!out.empty()) {
          EXPECT_LT(out.back().key, p.key) << context << ": scroll out of key order";
        }
        out.push_back(std::move(p));
      }
      if (!r->next.has_value()) return out;
      EXPECT_FALSE(r->points.empty()) << context << ": an empty page with a next key";
      if (r->points.empty()) return out;
      request.start_after = r->next;
    }
    ADD_FAILURE() << context << ": scroll does not end";
    return out;
  }
  void CheckScroll(const std::shared_ptr<const Filter>& f, size_t limit, bool with_payload, const std::string& context) {
    const std::vector<PointRecord> got = ScrollAll(f, limit, with_payload, context);
    const std::set<PointKey> want = MatchingKeys(f.get());
    std::vector<PointKey> got_keys;
    for (const PointRecord& p : got) {
      got_keys.push_back(p.key);
      if (with_payload) {
        auto it = model_.find(p.key);
        if (it != model_.end()) {
          EXPECT_TRUE(SameJson(p.payload_json, PayloadText(it->second.payload))) << context << " " << PointKeyToString(p.key);
        }
      } else {
        EXPECT_TRUE(p.payload_json.empty()) << context << ": payload returned without with_payload";
      }
    }
    EXPECT_EQ(got_keys, std::vector<PointKey>(want.begin(), want.end()))
        << context << " " << (f ? FilterToJson(*f) : "") << ": scroll gave " << got_keys.size() << " points, "
        << want.size() << " match";
  }
  void CheckCount(const std::shared_ptr<const Filter>& f, const std::string& context) {
    Result<uint64_t> n = c_->CountWhere(*f);
    ASSERT_TRUE(n.ok()) << context << ": " << n.status().ToString();
    EXPECT_EQ(*n, MatchingKeys(f.get()).size()) << context << " " << FilterToJson(*f);
  }
  void CheckInfoCounts(const std::string& context) {
    Result<CollectionInfo> info = c_->Info();
    ASSERT_OK(info);
    for (const PayloadIndexInfo& pi : info->payload_indexes) {
      EXPECT_TRUE(pi.ready) << context << " " << pi.field;
      EXPECT_EQ(pi.points, PointsWithValues(model_, pi.field, pi.type))
          << context << ": Info().payload_indexes['" << pi.field << "'].points";
    }
  }

  // Filters of every selectivity: random ones, and ranges over the unique field s (indexed) and
  // its copy s2 (never indexed) from one point to all.
  std::vector<std::string> Filters(Rng& rng, size_t random_count) const {
    std::vector<std::string> out;
    const uint64_t n = model_.size();
    for (uint64_t x : {uint64_t{1}, uint64_t{2}, uint64_t{5}, uint64_t{25}, uint64_t{100}, n / 4, n / 2,
                       n * 9 / 10, n}) {
      const std::string lt = std::to_string(x);
      out.push_back(R"({"must": [{"key": "s", "range": {"lt": )" + lt + "}}]}");
      out.push_back(R"({"must": [{"key": "s2", "range": {"lt": )" + lt + "}}]}");
      out.push_back(R"({"must": [{"key": "s", "range": {"lt": )" + lt + R"(}}, {"key": "s2", "range": {"gte": 1}}]})");
      out.push_back(R"({"must_not": [{"key": "s", "range": {"gte": )" + lt + "}}]}");
    }
    out.push_back(R"({"must": [{"has_id": [3, 17, 400, 99999]}]})");
    out.push_back(R"({"should": [{"has_id": [5]}, {"key": "s2", "match": {"value": 9}}]})");
    out.push_back(R"({"must": [{"has_id": ["p000460", "p000499", "p002251", "nope", 12]}]})");
    out.push_back(R"({"must_not": [{"has_id": ["p000461", 0, 1, 2]}], "must": [{"key": "s", "range": {"lt": 6}}]})");
    out.push_back(R"({"must": [{"key": "kw", "match": {"value": "white"}}]})");
    out.push_back(R"({"must": [{"key": "kw", "match": {"any": ["red", "blue"]}}], "must_not": [{"key": "b", "match": {"value": true}}]})");
    out.push_back(R"({"must": [{"nested": {"key": "items", "filter": {"must": [{"key": "x", "match": {"value": 5}}, {"key": "y", "match": {"value": "red"}}]}}}]})");
    out.push_back(R"({"must": [{"key": "s", "range": {"gte": 1000000}}]})");  // nothing
    out.push_back(R"({"must": [{"key": "s2", "range": {"gte": 1000000}}]})");
    for (size_t i = 0; i < random_count; ++i) out.push_back(payloadtest::RandomFilter(rng, 2, n).dump());
    return out;
  }

  std::unique_ptr<Database> db_;
  std::shared_ptr<Collection> c_;
  FModel model_;
  double recall_sum_ = 0;
  size_t recall_count_ = 0;
};

// The same checks on a smaller grid (one kind per metric) for the tests whose cost is writes.
class FilterWriteTest : public FilterSearchTest {};

// The search contract over random filters and every selectivity, with payload indexes on some
// fields, by single and batch searches, with small and default ef.
TEST_P(FilterSearchTest, EveryAnswerKeepsTheContract) {
  constexpr uint64_t kPoints = 2500;  // > 2048 matches reach the filtered graph walk
  Fill(kPoints, 11);
  ASSERT_NO_FATAL_FAILURE(CreateIndexes());
  Rng rng(12);
  const std::vector<std::string> filters = Filters(rng, kSanitized ? 15 : 40);
  const std::vector<float> queries = testutil::RandomVectors(2 * filters.size(), kDim, 13);
  std::vector<PointKey> all_keys;
  for (const auto& [key, p] : model_) all_keys.push_back(key);
  size_t qi = 0;
  for (const std::string& text : filters) {
    SearchRequest request;
    request.filter = ParseShared(text);
    ASSERT_NE(request.filter, nullptr);
    const size_t ks[] = {1, 5, 10, 40, 100};
    request.k = ks[payloadtest::Uniform(rng, 5)];
    request.ef = payloadtest::Chance(rng, 0.3) ? 8 : 0;
    if (payloadtest::Chance(rng, 0.15)) {  // a key restriction on top of the filter
      std::vector<PointKey> only;
      for (size_t i = 0; i < 300; ++i) only.push_back(all_keys[payloadtest::Uniform(rng, all_keys.size())]);
      only.push_back(StrKey("absent"));
      request.only_keys = only;
    }
    // One query alone, then a batch of two (one plan for both rows).
    const std::vector<float> q0(queries.begin() + qi * kDim, queries.begin() + (qi + 1) * kDim);
    SearchAndCheck(q0, request, "single");
    const MatrixView both{queries.data() + qi * kDim, 2, kDim};
    Result<std::vector<std::vector<ScoredPoint>>> rows = c_->SearchBatch(both, request);
    ASSERT_OK(rows);
    ASSERT_EQ(rows->size(), 2u);
    for (size_t r = 0; r < 2; ++r) {
      const std::vector<float> q(queries.begin() + (qi + r) * kDim, queries.begin() + (qi + r + 1) * kDim);
      recall_sum_ += CheckAnswer((*rows)[r], q, request, flat(), "batch row " + std::to_string(r));
      ++recall_count_;
    }
    qi += 2;
    if (HasFailure()) return;
  }
  EXPECT_GE(MeanRecall(), flat() ? 1.0 : 0.9) << "mean recall of filtered searches";
}

// With or without payload indexes, created after the data, dropped, and after reopening: the
// same answers (exact ones identical; approximate ones keep the contract).
TEST_P(FilterWriteTest, PayloadIndexesChangeNoAnswer) {
  Fill(600, 21);
  Rng rng(22);
  const std::vector<std::string> filters = Filters(rng, kSanitized ? 8 : 15);
  const std::vector<float> queries = testutil::RandomVectors(filters.size(), kDim, 23);
  const auto answers = [&](const std::string& phase) {
    std::vector<std::vector<PointKey>> out;
    for (size_t i = 0; i < filters.size(); ++i) {
      const std::vector<float> q(queries.begin() + i * kDim, queries.begin() + (i + 1) * kDim);
      SearchRequest request;
      request.filter = ParseShared(filters[i]);
      request.k = 10;
      request.exact = true;
      Result<std::vector<ScoredPoint>> hits = c_->Search(q, request);
      EXPECT_OK(hits);
      if (!hits.ok()) return out;
      CheckAnswer(*hits, q, request, true, phase + " exact");
      out.push_back(KeysOf(*hits));
      request.exact = false;
      SearchAndCheck(q, request, phase);
      CheckCount(request.filter, phase);
    }
    return out;
  };
  const auto without = answers("no payload index");
  ASSERT_FALSE(HasFailure());
  ASSERT_NO_FATAL_FAILURE(CreateIndexes());
  CheckInfoCounts("created after the data");
  EXPECT_EQ(answers("indexed"), without);
  // Drop half of them.
  for (size_t i = 0; i < IndexedFields().size(); i += 2) ASSERT_OK(c_->DropPayloadIndex(IndexedFields()[i].first));
  EXPECT_EQ(answers("half dropped"), without);
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ASSERT_OK_AND_ASSIGN(CollectionInfo info, c_->Info());
  std::vector<std::string> listed;
  for (const PayloadIndexInfo& pi : info.payload_indexes) listed.push_back(pi.field);
  std::vector<std::string> expected;
  for (size_t i = 1; i < IndexedFields().size(); i += 2) expected.push_back(IndexedFields()[i].first);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(listed, expected) << "the schema survives a reopen, without the dropped indexes";
  CheckInfoCounts("reopened");
  EXPECT_EQ(answers("reopened"), without);
  EXPECT_GE(MeanRecall(), flat() ? 1.0 : 0.9);
}

// Payload indexes follow every kind of write: after each round of upserts (replacing payloads),
// payload merges, overwrites, field deletions, deletes and delete-where, counts, scrolls and
// searches agree with the model.
TEST_P(FilterWriteTest, IndexesFollowEveryWrite) {
  // Some indexes exist before the data (filled by upserts), the others are built from it.
  ASSERT_NO_FATAL_FAILURE(CreateIndexes(0, 4));
  constexpr uint64_t kPoints = 500;
  Fill(kPoints, 31);
  ASSERT_NO_FATAL_FAILURE(CreateIndexes(4));
  Rng rng(32);
  const std::vector<std::string> filters = Filters(rng, kSanitized ? 5 : 10);
  uint64_t next_key = kPoints;
  const int rounds = kSanitized ? 2 : 4;
  for (int round = 0; round < rounds; ++round) {
    const std::string ctx = "round " + std::to_string(round);
    std::vector<PointKey> keys;
    for (const auto& [key, p] : model_) keys.push_back(key);
    const auto pick = [&](size_t count) {
      std::vector<PointKey> out;
      std::set<PointKey> used;
      while (out.size() < count && used.size() < keys.size()) {
        const PointKey& k = keys[payloadtest::Uniform(rng, keys.size())];
        if (used.insert(k).second) out.push_back(k);
      }
      return out;
    };
    // Upserts: 60 existing keys with new payloads and vectors, 20 new keys.
    {
      std::vector<Point> batch;
      for (const PointKey& k : pick(40)) {
        Json p = payloadtest::RandomPayload(rng, 0);
        if (p.is_null()) p = Json::object();
        const Json& old = model_.at(k).payload;
        p["s"] = old.is_object() && old.contains("s") ? old["s"] : Json(0);
        p["s2"] = p["s"];
        batch.push_back(MakePoint(k, 2 + round, kDim, payloadtest::Chance(rng, 0.1) ? "" : p.dump()));
      }
      for (int i = 0; i < 20; ++i) batch.push_back(NewPoint(rng, next_key++, 1u << 30, 1));
      ASSERT_NO_FATAL_FAILURE(Upsert(batch));
    }
    // SetPayload (a merge of top-level fields).
    for (const PointKey& k : pick(30)) {
      Json patch = Json::object();
      patch["kw"] = payloadtest::Word(rng);
      if (payloadtest::Chance(rng, 0.5)) patch["n"] = payloadtest::IntIn(rng, -3, 9);
      if (payloadtest::Chance(rng, 0.3)) patch["tags"] = Json::array({payloadtest::Word(rng)});
      if (payloadtest::Chance(rng, 0.2)) patch["b"] = "not a bool";
      ASSERT_OK(c_->SetPayload(std::vector<PointKey>{k}, patch.dump()));
      Json& p = model_.at(k).payload;
      if (!p.is_object()) p = Json::object();
      for (auto it = patch.begin(); it != patch.end(); ++it) p[it.key()] = it.value();
      p = Json::parse(p.dump());
    }
    // OverwritePayload: a whole new payload for several keys at once.
    {
      const std::vector<PointKey> ks = pick(20);
      Json p = payloadtest::RandomPayload(rng, 0);
      if (p.is_null()) p = Json::object();
      p["s"] = 5;
      ASSERT_OK(c_->OverwritePayload(ks, p.dump()));
      for (const PointKey& k : ks) model_.at(k).payload = Json::parse(p.dump());
      const std::vector<PointKey> cleared = pick(3);
      ASSERT_OK(c_->OverwritePayload(cleared, ""));
      for (const PointKey& k : cleared) model_.at(k).payload = Json();
    }
    // DeletePayloadFields: top-level fields; a payload left empty becomes none.
    {
      const std::vector<PointKey> ks = pick(25);
      const std::vector<std::string> fields = {"kw", "tags", "items", "s"};
      ASSERT_OK(c_->DeletePayloadFields(ks, fields));
      for (const PointKey& k : ks) {
        Json& p = model_.at(k).payload;
        if (!p.is_object()) continue;
        for (const std::string& name : fields) p.erase(name);
        if (p.empty()) p = Json();
      }
    }
    // Delete, with an absent key among them.
    {
      std::vector<PointKey> ks = pick(15);
      ks.push_back(IntKey(999999999));
      ASSERT_OK_AND_ASSIGN(WriteSummary deleted, c_->Delete(ks));
      EXPECT_EQ(deleted.changed, 15u);
      for (const PointKey& k : ks) model_.erase(k);
    }
    // DeleteWhere: one indexed condition and one that needs the payloads.
    for (const std::string& text :
         {R"({"must": [{"key": "kw", "match": {"value": "black"}}, {"key": "n", "range": {"gte": 7}}]})",
          R"({"must": [{"key": "s2", "range": {"gte": 100, "lt": 130}}], "must_not": [{"key": "b", "match": {"value": true}}]})"}) {
      const std::shared_ptr<const Filter> f = ParseShared(text);
      const std::set<PointKey> doomed = MatchingKeys(f.get());
      ASSERT_OK_AND_ASSIGN(WriteSummary deleted, c_->DeleteWhere(*f));
      EXPECT_EQ(deleted.changed, doomed.size()) << ctx << " " << text;
      for (const PointKey& k : doomed) model_.erase(k);
      CheckCount(f, ctx + " after DeleteWhere");
    }
    ASSERT_OK_AND_ASSIGN(uint64_t count, c_->Count());
    EXPECT_EQ(count, model_.size()) << ctx;
    CheckInfoCounts(ctx);
    const std::vector<float> queries = testutil::RandomVectors(filters.size(), kDim, 33 + round);
    for (size_t i = 0; i < filters.size(); ++i) {
      const std::shared_ptr<const Filter> f = ParseShared(filters[i]);
      CheckCount(f, ctx);
      SearchRequest request;
      request.filter = f;
      request.k = 10;
      const std::vector<float> q(queries.begin() + i * kDim, queries.begin() + (i + 1) * kDim);
      SearchAndCheck(q, request, ctx);
      request.exact = true;
      SearchAndCheck(q, request, ctx + " exact");
      if (i % 5 == 0) CheckScroll(f, 64, i % 10 == 0, ctx);
      if (HasFailure()) return;
    }
  }
  EXPECT_GE(MeanRecall(), 0.9);
}

// CountWhere, Scroll with a filter (pagination over several pages, with and without payloads),
// DeleteWhere removing exactly the matches.
TEST_P(FilterWriteTest, CountScrollAndDeleteWhere) {
  Fill(500, 41);
  ASSERT_NO_FATAL_FAILURE(CreateIndexes(0, 6));
  Rng rng(42);
  const std::vector<std::string> filters = Filters(rng, kSanitized ? 6 : 15);
  for (size_t i = 0; i < filters.size(); ++i) {
    const std::shared_ptr<const Filter> f = ParseShared(filters[i]);
    CheckCount(f, "count");
    CheckScroll(f, i % 3 == 0 ? 1 : (i % 3 == 1 ? 7 : 100), i % 2 == 0, "scroll");
    if (HasFailure()) return;
  }
  // A scroll page boundary exactly at the last match, and a start_after in the middle.
  {
    const std::shared_ptr<const Filter> f = ParseShared(R"({"must": [{"key": "s", "range": {"lt": 10}}]})");
    ScrollRequest request;
    request.filter = f;
    request.limit = 10;
    ASSERT_OK_AND_ASSIGN(ScrollResult r, c_->Scroll(request));
    EXPECT_EQ(r.points.size(), 10u);
    if (r.next.has_value()) {
      request.start_after = r.next;
      ASSERT_OK_AND_ASSIGN(ScrollResult rest, c_->Scroll(request));
      EXPECT_TRUE(rest.points.empty());
      EXPECT_FALSE(rest.next.has_value());
    }
    request.start_after = IntKey(4);
    ASSERT_OK_AND_ASSIGN(ScrollResult mid, c_->Scroll(request));
    ASSERT_EQ(mid.points.size(), 5u);
    EXPECT_EQ(mid.points.front().key, IntKey(5));
    request.limit = 0;
    EXPECT_CODE(c_->Scroll(request), StatusCode::kInvalidArgument);
  }
  // DeleteWhere: nothing, then a selective indexed filter, an unindexed one, then everything.
  const uint64_t before = model_.size();
  ASSERT_OK_AND_ASSIGN(WriteSummary none, c_->DeleteWhere(*ParseShared(R"({"must": [{"key": "s", "range": {"lt": 0}}]})")));
  EXPECT_EQ(none.changed, 0u);
  EXPECT_EQ(none.sequence, 0u);
  for (const std::string& text :
       {std::string(R"({"must": [{"key": "kw", "match": {"value": "red"}}, {"key": "s", "range": {"lt": 300}}]})"),
        std::string(R"({"must": [{"key": "tags", "values_count": {"gte": 2}}], "should": [{"key": "s2", "range": {"gte": 400}}, {"is_empty": {"key": "kw"}}]})"),
        std::string(R"({"must": [{"has_id": [1, 2, 3, 440, "p000480"]}]})")}) {
    const std::shared_ptr<const Filter> f = ParseShared(text);
    const std::set<PointKey> doomed = MatchingKeys(f.get());
    ASSERT_OK_AND_ASSIGN(WriteSummary deleted, c_->DeleteWhere(*f));
    EXPECT_EQ(deleted.changed, doomed.size()) << text;
    for (const PointKey& k : doomed) model_.erase(k);
    ASSERT_OK_AND_ASSIGN(uint64_t count, c_->Count());
    EXPECT_EQ(count, model_.size()) << text;
    CheckCount(f, "after DeleteWhere");
    ASSERT_OK_AND_ASSIGN(uint64_t left, c_->CountWhere(*f));
    EXPECT_EQ(left, 0u) << text;
    CheckScroll(nullptr, 250, true, "all after DeleteWhere");
    const std::vector<float> q = VectorFor(IntKey(5), 77, kDim);
    SearchRequest request;
    request.k = 50;
    request.filter = f;
    ASSERT_OK_AND_ASSIGN(auto hits, c_->Search(q, request));
    EXPECT_TRUE(hits.empty()) << text;
    request.filter.reset();
    SearchAndCheck(q, request, "unfiltered after DeleteWhere");
  }
  EXPECT_LT(model_.size(), before);
  ASSERT_OK_AND_ASSIGN(WriteSummary all, c_->DeleteWhere(*ParseShared("{}")));
  EXPECT_EQ(all.changed, model_.size());
  model_.clear();
  ASSERT_OK_AND_ASSIGN(uint64_t count, c_->Count());
  EXPECT_EQ(count, 0u);
  CheckInfoCounts("emptied");
  SearchRequest request;
  request.filter = ParseShared(R"({"must": [{"key": "s", "range": {"gte": 0}}]})");
  ASSERT_OK_AND_ASSIGN(auto hits, c_->Search(VectorFor(IntKey(1), 1, kDim), request));
  EXPECT_TRUE(hits.empty());
}

// offset pages, score_threshold per metric, exact = true, and the argument checks.
TEST_P(FilterSearchTest, OffsetThresholdAndExact) {
  Fill(800, 51);
  ASSERT_NO_FATAL_FAILURE(CreateIndexes(0, 6));
  const std::vector<std::string> filters = {
      "", R"({"must": [{"key": "kw", "match": {"any": ["red", "green"]}}]})",
      R"({"must": [{"key": "s2", "range": {"lt": 400}}]})", R"({"must": [{"key": "s", "range": {"lt": 12}}]})",
      R"({"must": [{"key": "s", "range": {"lt": 750}}]})"};
  constexpr size_t kQueries = 2;
  const std::vector<float> queries = testutil::RandomVectors(kQueries, kDim, 52);
  for (const std::string& text : filters) {
    const std::shared_ptr<const Filter> f = text.empty() ? nullptr : ParseShared(text);
    for (size_t qi = 0; qi < kQueries; ++qi) {
      const std::vector<float> q(queries.begin() + qi * kDim, queries.begin() + (qi + 1) * kDim);
      const std::string ctx = "filter " + text + " query " + std::to_string(qi);
      for (bool exact : {false, true}) {
        for (size_t offset : {size_t{0}, size_t{7}, size_t{20}, size_t{55}, size_t{2000}}) {
          SearchRequest page;
          page.filter = f;
          page.k = 10;
          page.offset = offset;
          page.exact = exact;
          ASSERT_OK_AND_ASSIGN(auto got, c_->Search(q, page));
          // The same search as one list of offset + k, cut: identical (same parameters).
          SearchRequest whole = page;
          whole.k = offset + 10;
          whole.offset = 0;
          ASSERT_OK_AND_ASSIGN(auto all, c_->Search(q, whole));
          std::vector<PointKey> tail;
          for (size_t i = std::min(offset, all.size()); i < all.size(); ++i) tail.push_back(all[i].key);
          EXPECT_EQ(KeysOf(got), tail) << ctx << " offset " << offset << " exact " << exact;
          recall_sum_ += CheckAnswer(got, q, page, flat() || exact, ctx);
          ++recall_count_;
        }
        // score_threshold: the unthresholded answer cut where the score passes t.
        SearchRequest plain;
        plain.filter = f;
        plain.k = 40;
        plain.exact = exact;
        ASSERT_OK_AND_ASSIGN(auto ref, c_->Search(q, plain));
        if (ref.size() < 3) continue;
        for (size_t cut : {size_t{0}, ref.size() / 2, ref.size() - 1}) {
          const float t = ref[cut].score;
          for (size_t offset : {size_t{0}, size_t{3}}) {
            SearchRequest thresholded = plain;
            thresholded.score_threshold = t;
            thresholded.offset = offset;
            thresholded.k = plain.k - offset;
            ASSERT_OK_AND_ASSIGN(auto got, c_->Search(q, thresholded));
            std::vector<PointKey> want;
            for (size_t i = offset; i < ref.size(); ++i) {
              const bool passes = metric() == Metric::kL2 ? ref[i].score <= t : ref[i].score >= t;
              if (passes) want.push_back(ref[i].key);
            }
            EXPECT_EQ(KeysOf(got), want) << ctx << " threshold " << t << " offset " << offset;
            for (const ScoredPoint& h : got) {
              if (metric() == Metric::kL2) {
                EXPECT_LE(h.score, t);
              } else {
                EXPECT_GE(h.score, t);
              }
            }
          }
        }
        if (HasFailure()) return;
      }
    }
  }
  EXPECT_GE(MeanRecall(), flat() ? 1.0 : 0.9);
  // Argument checks.
  const std::vector<float> q = VectorFor(IntKey(1), 9, kDim);
  SearchRequest bad;
  bad.k = Collection::kMaxK;
  bad.offset = 1;
  EXPECT_CODE(c_->Search(q, bad), StatusCode::kInvalidArgument);
  bad.k = 1;
  bad.offset = Collection::kMaxK;
  EXPECT_CODE(c_->Search(q, bad), StatusCode::kInvalidArgument);
  bad.offset = std::numeric_limits<size_t>::max();
  EXPECT_CODE(c_->Search(q, bad), StatusCode::kInvalidArgument);
  bad.offset = Collection::kMaxK - 1;
  ASSERT_OK_AND_ASSIGN(auto far, c_->Search(q, bad));
  EXPECT_TRUE(far.empty());
  bad.offset = 0;
  for (float t : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                  -std::numeric_limits<float>::infinity()}) {
    bad.score_threshold = t;
    EXPECT_CODE(c_->Search(q, bad), StatusCode::kInvalidArgument) << t;
    EXPECT_CODE(c_->SearchBatch(MatrixView{q.data(), 1, kDim}, bad), StatusCode::kInvalidArgument) << t;
  }
}

// Reopening: the schema is persisted, the indexes rebuilt from the store (also after writes that
// followed their creation, after a snapshot loss, read-only, and on a mapped snapshot).
TEST_P(FilterWriteTest, IndexesSurviveReopen) {
  Fill(500, 61);
  ASSERT_NO_FATAL_FAILURE(CreateIndexes());
  Rng rng(62);
  // Writes after the indexes exist.
  std::vector<Point> more;
  for (uint64_t i = 500; i < 600; ++i) more.push_back(NewPoint(rng, i, 1u << 30, 1));
  ASSERT_NO_FATAL_FAILURE(Upsert(more));
  ASSERT_OK(c_->SetPayload(std::vector<PointKey>{IntKey(1), IntKey(2)}, R"({"kw": "white", "n": 100})"));
  model_.at(IntKey(1)).payload["kw"] = "white";
  model_.at(IntKey(1)).payload["n"] = 100;
  model_.at(IntKey(2)).payload["kw"] = "white";
  model_.at(IntKey(2)).payload["n"] = 100;
  ASSERT_OK(c_->Delete(std::vector<PointKey>{IntKey(3)}));
  model_.erase(IntKey(3));
  const std::vector<std::string> filters = Filters(rng, kSanitized ? 5 : 10);
  const std::vector<float> queries = testutil::RandomVectors(filters.size(), kDim, 63);
  const auto check = [&](const std::string& phase, bool writable) {
    ASSERT_OK_AND_ASSIGN(CollectionInfo info, c_->Info());
    EXPECT_EQ(info.payload_indexes.size(), IndexedFields().size()) << phase;
    CheckInfoCounts(phase);
    for (size_t i = 0; i < filters.size(); ++i) {
      const std::shared_ptr<const Filter> f = ParseShared(filters[i]);
      CheckCount(f, phase);
      const std::vector<float> q(queries.begin() + i * kDim, queries.begin() + (i + 1) * kDim);
      SearchRequest request;
      request.filter = f;
      request.k = 10;
      SearchAndCheck(q, request, phase);
      request.exact = true;
      SearchAndCheck(q, request, phase + " exact");
      if (i % 4 == 0) CheckScroll(f, 50, false, phase);
      if (HasFailure()) return;
    }
    if (writable) {
      // Still kept in step after the reopen.
      ASSERT_OK(c_->SetPayload(std::vector<PointKey>{IntKey(10)}, R"({"kw": "magenta", "s": 424242})"));
      model_.at(IntKey(10)).payload["kw"] = "magenta";
      model_.at(IntKey(10)).payload["s"] = 424242;
      CheckCount(ParseShared(R"({"must": [{"key": "s", "match": {"value": 424242}}]})"), phase + " write");
    }
  };
  ASSERT_NO_FATAL_FAILURE(Reopen());  // mapped snapshot (HNSW), made writable in the background
  check("reopened", false);
  ASSERT_TRUE(WaitReady(*c_));
  check("reopened, ready", true);
  ASSERT_NO_FATAL_FAILURE(Reopen(/*read_only=*/true));
  check("read-only", false);
  // The snapshot lost: the index is rebuilt from the store, the payload indexes with it.
  c_.reset();
  db_.reset();
  fs::remove(fs::path(CollectionDir("f")) / "CURRENT");
  ASSERT_NO_FATAL_FAILURE(Reopen());
  check("rebuilt", true);
  EXPECT_GE(MeanRecall(), flat() ? 1.0 : 0.9);
}

// Searches, counts and scrolls with filters while other threads write and change the schema:
// no crash, every answer well formed; at the end the indexes agree with the store.
TEST_P(FilterWriteTest, ConcurrentWritesAndSchemaChanges) {
  constexpr uint64_t kPoints = 800;
  Fill(kPoints, 71);
  ASSERT_NO_FATAL_FAILURE(CreateIndexes(0, 3));
  Rng frng(72);
  std::vector<std::shared_ptr<const Filter>> filters;
  for (const std::string& text : Filters(frng, 15)) filters.push_back(ParseShared(text));
  const int iterations = kSanitized ? 25 : 60;
  std::atomic<bool> failed{false};
  std::atomic<int> writers_done{0};
  const auto searcher = [&](uint64_t seed) {
    Rng rng(seed);
    for (int i = 0; (i < iterations || writers_done.load() < 2) && !failed.load(); ++i) {
      const std::shared_ptr<const Filter>& f = filters[payloadtest::Uniform(rng, filters.size())];
      SearchRequest request;
      request.filter = f;
      request.k = 1 + payloadtest::Uniform(rng, 30);
      request.offset = payloadtest::Chance(rng, 0.2) ? 5 : 0;
      request.exact = payloadtest::Chance(rng, 0.2);
      const std::vector<float> q = VectorFor(IntKey(seed), i, kDim);
      Result<std::vector<ScoredPoint>> hits = c_->Search(q, request);
      if (!hits.ok()) {
        ADD_FAILURE() << hits.status().ToString();
        failed = true;
        return;
      }
      std::set<PointKey> seen;
      for (size_t j = 0; j < hits->size(); ++j) {
        const bool dup = !seen.insert((*hits)[j].key).second;
        const bool unsorted = j > 0 && (*hits)[j - 1].distance > (*hits)[j].distance;
        if (dup || unsorted) {
          ADD_FAILURE() << "malformed answer: " << (dup ? "duplicate " : "unsorted at ") << j;
          failed = true;
        }
      }
      if (hits->size() > request.k) {
        ADD_FAILURE() << hits->size() << " results for k " << request.k;
        failed = true;
      }
      if (i % 10 == 0) {
        Result<uint64_t> n = c_->CountWhere(*f);
        if (!n.ok()) ADD_FAILURE() << n.status().ToString();
        ScrollRequest sr;
        sr.filter = f;
        sr.limit = 20;
        Result<ScrollResult> page = c_->Scroll(sr);
        if (!page.ok()) {
          ADD_FAILURE() << page.status().ToString();
        } else {
          for (size_t j = 1; j < page->points.size(); ++j) {
            if (!(page->points[j - 1].key < page->points[j].key)) ADD_FAILURE() << "scroll out of order";
          }
        }
      }
    }
  };
  const auto writer = [&] {
    Rng rng(73);
    uint64_t next = kPoints;
    for (int i = 0; i < iterations && !failed.load(); ++i) {
      std::vector<Point> batch;
      for (int j = 0; j < 8; ++j) {
        const uint64_t idx = payloadtest::Chance(rng, 0.5) ? payloadtest::Uniform(rng, kPoints) : next++;
        batch.push_back(NewPoint(rng, idx, 1u << 30, 2 + i));
      }
      // One key once per batch.
      std::sort(batch.begin(), batch.end(), [](const Point& a, const Point& b) { return a.key < b.key; });
      batch.erase(std::unique(batch.begin(), batch.end(), [](const Point& a, const Point& b) { return a.key == b.key; }),
                  batch.end());
      EXPECT_OK(c_->Upsert(batch));
      const std::vector<PointKey> some = {IntKey(payloadtest::Uniform(rng, kPoints)),
                                          IntKey(payloadtest::Uniform(rng, kPoints))};
      EXPECT_OK(c_->Delete(std::vector<PointKey>{some[0]}));
      EXPECT_OK(c_->SetPayload(some, R"({"kw": "cyan", "n": 4})"));
      EXPECT_OK(c_->OverwritePayload(std::vector<PointKey>{some[1]}, R"({"kw": "green", "f": 1.5, "s": 3})"));
      const std::vector<std::string> fields = {"kw"};
      EXPECT_OK(c_->DeletePayloadFields(std::vector<PointKey>{IntKey(payloadtest::Uniform(rng, kPoints))}, fields));
      if (i % 20 == 0) {
        EXPECT_OK(c_->DeleteWhere(*ParseShared(R"({"must": [{"key": "kw", "match": {"value": "white"}}, {"key": "n", "range": {"gt": 8}}]})")));
      }
    }
    writers_done.fetch_add(1);
  };
  const auto schema = [&] {
    const auto& fields = IndexedFields();
    for (int round = 0; round < (kSanitized ? 2 : 4) && !failed.load(); ++round) {
      for (size_t i = 3; i < fields.size(); ++i) EXPECT_OK(c_->CreatePayloadIndex(fields[i].first, fields[i].second));
      for (size_t i = 3; i < fields.size(); i += 2) EXPECT_OK(c_->DropPayloadIndex(fields[i].first));
      EXPECT_OK(c_->CreatePayloadIndex("kw", PayloadFieldType::kInteger));  // a type change ...
      EXPECT_OK(c_->CreatePayloadIndex("kw", PayloadFieldType::kKeyword));  // ... and back
      EXPECT_OK(c_->Info());
    }
    writers_done.fetch_add(1);
  };
  std::vector<std::thread> threads;
  threads.emplace_back(searcher, 101);
  threads.emplace_back(searcher, 102);
  threads.emplace_back(writer);
  threads.emplace_back(schema);
  for (std::thread& t : threads) t.join();
  ASSERT_FALSE(failed.load());

  // Quiet now: the store is the model, and every answer must agree with it.
  ASSERT_OK_AND_ASSIGN(auto stored, ReadAll(*c_));
  model_.clear();
  for (auto& [key, record] : stored) {
    model_[key] = FPoint{record.vector, record.payload_json.empty() ? Json() : Json::parse(record.payload_json)};
  }
  CheckInfoCounts("after the threads");
  const std::vector<float> queries = testutil::RandomVectors(filters.size(), kDim, 74);
  for (size_t i = 0; i < filters.size(); ++i) {
    CheckCount(filters[i], "after the threads");
    SearchRequest request;
    request.filter = filters[i];
    request.k = 10;
    request.exact = true;
    const std::vector<float> q(queries.begin() + i * kDim, queries.begin() + (i + 1) * kDim);
    SearchAndCheck(q, request, "after the threads");
    if (HasFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, FilterSearchTest,
    ::testing::Values(Param{"flat", Metric::kL2}, Param{"flat", Metric::kCosine}, Param{"flat", Metric::kInnerProduct},
                      Param{"hnsw", Metric::kL2}, Param{"hnsw", Metric::kCosine},
                      Param{"hnsw:storage=int8,rerank=true", Metric::kL2},
                      Param{"hnsw:storage=int8,rerank=true", Metric::kInnerProduct}),
    [](const ::testing::TestParamInfo<Param>& info) {
      return KindName(std::get<0>(info.param)) + "_" + std::string(MetricName(std::get<1>(info.param)));
    });

INSTANTIATE_TEST_SUITE_P(
    Kinds, FilterWriteTest,
    ::testing::Values(Param{"flat", Metric::kL2}, Param{"hnsw", Metric::kCosine},
                      Param{"hnsw:storage=int8,rerank=true", Metric::kInnerProduct}),
    [](const ::testing::TestParamInfo<Param>& info) {
      return KindName(std::get<0>(info.param)) + "_" + std::string(MetricName(std::get<1>(info.param)));
    });

// ------------------------------------------------------------------ errors and the read-only mode

class FilterErrorsTest : public DbTest {};

TEST_F(FilterErrorsTest, PayloadIndexArgumentsAndModes) {
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), QuietOptions()));
  ASSERT_OK_AND_ASSIGN(auto c, db->CreateCollection("e", Config(8, Metric::kL2, "hnsw")));
  std::vector<Point> points;
  for (uint64_t i = 0; i < 50; ++i) points.push_back(MakePoint(IntKey(i), 1, 8, R"({"a": )" + std::to_string(i) + "}"));
  ASSERT_OK(c->Upsert(points));
  for (const char* bad : {"", ".", "a.", ".a", "a..b", "a[", "a]", "a[x]", "a[]]", "\"a\"", "a[-1]"}) {
    EXPECT_CODE(c->CreatePayloadIndex(bad, PayloadFieldType::kKeyword), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_CODE(c->DropPayloadIndex("a"), StatusCode::kNotFound);
  ASSERT_OK(c->CreatePayloadIndex("a", PayloadFieldType::kInteger));
  ASSERT_OK(c->CreatePayloadIndex("a", PayloadFieldType::kInteger));  // the same again: a no-op
  ASSERT_OK_AND_ASSIGN(CollectionInfo info, c->Info());
  ASSERT_EQ(info.payload_indexes.size(), 1u);
  EXPECT_EQ(info.payload_indexes[0].type, PayloadFieldType::kInteger);
  EXPECT_EQ(info.payload_indexes[0].points, 50u);
  ASSERT_OK(c->CreatePayloadIndex("a", PayloadFieldType::kFloat));  // another type: replaced
  ASSERT_OK_AND_ASSIGN(info, c->Info());
  ASSERT_EQ(info.payload_indexes.size(), 1u);
  EXPECT_EQ(info.payload_indexes[0].type, PayloadFieldType::kFloat);
  EXPECT_EQ(info.payload_indexes[0].points, 50u);
  ASSERT_OK(c->CreatePayloadIndex("b.c[]", PayloadFieldType::kKeyword));
  ASSERT_OK(c->DropPayloadIndex("b.c[]"));
  EXPECT_CODE(c->DropPayloadIndex("b.c[]"), StatusCode::kNotFound);
  EXPECT_CODE(c->DropPayloadIndex("b.c"), StatusCode::kNotFound);
  ASSERT_OK(c->CreatePayloadIndex("b", PayloadFieldType::kBool));

  // Read-only: the schema is served, writes of any kind refused.
  c.reset();
  db.reset();
  DatabaseOptions ro = QuietOptions();
  ro.read_only = true;
  ASSERT_OK_AND_ASSIGN(db, Database::Open(DbDir(), ro));
  ASSERT_OK_AND_ASSIGN(c, db->GetCollection("e"));
  ASSERT_OK_AND_ASSIGN(info, c->Info());
  ASSERT_EQ(info.payload_indexes.size(), 2u);
  EXPECT_EQ(info.payload_indexes[0].field, "a");
  EXPECT_EQ(info.payload_indexes[0].type, PayloadFieldType::kFloat);
  EXPECT_EQ(info.payload_indexes[0].points, 50u);
  EXPECT_EQ(info.payload_indexes[1].field, "b");
  EXPECT_CODE(c->CreatePayloadIndex("z", PayloadFieldType::kKeyword), StatusCode::kFailedPrecondition);
  EXPECT_CODE(c->DropPayloadIndex("a"), StatusCode::kFailedPrecondition);
  const std::shared_ptr<const Filter> f = ParseShared(R"({"must": [{"key": "a", "range": {"lt": 10}}]})");
  EXPECT_CODE(c->DeleteWhere(*f), StatusCode::kFailedPrecondition);
  ASSERT_OK_AND_ASSIGN(uint64_t n, c->CountWhere(*f));
  EXPECT_EQ(n, 10u);
  SearchRequest request;
  request.filter = f;
  request.k = 20;
  ASSERT_OK_AND_ASSIGN(auto hits, c->Search(VectorFor(IntKey(3), 1, 8), request));
  EXPECT_EQ(hits.size(), 10u);
  ASSERT_OK_AND_ASSIGN(uint64_t all, c->Count());
  EXPECT_EQ(all, 50u);
  c.reset();
  db.reset();

  // A dropped collection's handle refuses everything.
  ASSERT_OK_AND_ASSIGN(db, Database::Open(DbDir(), QuietOptions()));
  ASSERT_OK_AND_ASSIGN(c, db->GetCollection("e"));
  ASSERT_OK(db->DropCollection("e"));
  EXPECT_CODE(c->CreatePayloadIndex("q", PayloadFieldType::kKeyword), StatusCode::kFailedPrecondition);
  EXPECT_CODE(c->DropPayloadIndex("a"), StatusCode::kFailedPrecondition);
  EXPECT_CODE(c->CountWhere(*f), StatusCode::kFailedPrecondition);
  EXPECT_CODE(c->DeleteWhere(*f), StatusCode::kFailedPrecondition);
}

// A filter no index answers over more points than the planner evaluates up front (20000): the
// walk evaluates the payloads of the points it visits. The contract holds there too.
TEST_F(FilterErrorsTest, LargeUnindexedFilterWalksWithPayloadReads) {
  if (kSanitized) GTEST_SKIP() << "21000 points: release builds only";
  ASSERT_OK_AND_ASSIGN(auto db, Database::Open(DbDir(), QuietOptions()));
  constexpr size_t kSmallDim = 8;
  constexpr uint64_t kPoints = 21000;
  for (const char* spec : {"flat", "hnsw:m=8,ef_construction=32"}) {
    const std::string name = spec[0] == 'f' ? "flat" : "hnsw";
    ASSERT_OK_AND_ASSIGN(auto c, db->CreateCollection(name, Config(kSmallDim, Metric::kL2, spec)));
    std::vector<Point> points;
    std::vector<std::vector<float>> vectors;
    for (uint64_t i = 0; i < kPoints; ++i) {
      points.push_back(MakePoint(IntKey(i), 1, kSmallDim, R"({"g": )" + std::to_string(i % 1000) + "}"));
      vectors.push_back(points.back().vector);
      if (points.size() == 7000) {
        ASSERT_OK(c->Upsert(points));
        points.clear();
      }
    }
    // g % 1000 < 3: 63 points; the "should" keeps the candidates a superset of everything.
    const std::shared_ptr<const Filter> f =
        ParseShared(R"({"should": [{"key": "g", "range": {"lt": 3}}, {"key": "g", "match": {"value": 999}}]})");
    for (uint64_t qi = 0; qi < 2; ++qi) {
      const std::vector<float> q = VectorFor(IntKey(qi), 5, kSmallDim);
      for (size_t k : {size_t{10}, size_t{100}}) {
        SearchRequest request;
        request.filter = f;
        request.k = k;
        ASSERT_OK_AND_ASSIGN(auto hits, c->Search(q, request));
        EXPECT_EQ(hits.size(), std::min<size_t>(k, 84)) << spec;
        std::vector<std::pair<double, uint64_t>> truth;
        for (uint64_t i = 0; i < kPoints; ++i) {
          const uint64_t g = i % 1000;
          if (g < 3 || g == 999) truth.push_back({testutil::ReferenceDistance(Metric::kL2, q.data(), vectors[i].data(), kSmallDim), i});
        }
        std::sort(truth.begin(), truth.end());
        size_t found = 0;
        for (size_t i = 0; i < hits.size(); ++i) {
          const uint64_t g = hits[i].key.int_value() % 1000;
          EXPECT_TRUE(g < 3 || g == 999) << spec << ": " << hits[i].key.int_value();
          if (i > 0) {
            EXPECT_LE(hits[i - 1].distance, hits[i].distance);
          }
          for (size_t j = 0; j < std::min(k, truth.size()); ++j) found += truth[j].second == hits[i].key.int_value();
        }
        EXPECT_GE(static_cast<double>(found) / static_cast<double>(std::min(k, truth.size())),
                  spec[0] == 'f' ? 1.0 : 0.8)
            << spec;
      }
    }
    ASSERT_OK_AND_ASSIGN(uint64_t n, c->CountWhere(*f));
    EXPECT_EQ(n, 84u);
    // A payload index built from more points than one store page (10000) holds them all.
    ASSERT_OK(c->CreatePayloadIndex("g", PayloadFieldType::kInteger));
    ASSERT_OK_AND_ASSIGN(CollectionInfo info, c->Info());
    ASSERT_EQ(info.payload_indexes.size(), 1u);
    EXPECT_EQ(info.payload_indexes[0].points, kPoints);
    ASSERT_OK_AND_ASSIGN(uint64_t high, c->CountWhere(*ParseShared(R"({"must": [{"key": "g", "range": {"gte": 990}}]})")));
    EXPECT_EQ(high, 210u);
    ASSERT_OK_AND_ASSIGN(uint64_t indexed, c->CountWhere(*f));
    EXPECT_EQ(indexed, 84u);
  }
}

}  // namespace
}  // namespace vecdex::dbtest
