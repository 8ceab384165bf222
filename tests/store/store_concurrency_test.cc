// Readers concurrent with a writer (run under TSan): every read sees a committed, consistent
// snapshot, and reads never fail while writes go on.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"
#include "store/store_test_util.h"
#include "testutil/temp_dir.h"
#include "testutil/test_util.h"

namespace vecdex::store {
namespace {

using testing::MakePoint;
using testing::VectorFor;

constexpr size_t kDim = 8;
constexpr uint64_t kKeys = 200;

// The payload records the version the vector was made from, so a reader can check that the
// vector and payload it got belong to the same write.
std::string PayloadFor(uint64_t version) { return "{\"v\":" + std::to_string(version) + "}"; }

void CheckPoint(const StoredPoint& p) {
  const size_t at = p.payload_json.find(':');
  ASSERT_NE(at, std::string::npos) << p.payload_json;
  const uint64_t version = std::stoull(p.payload_json.substr(at + 1));
  EXPECT_EQ(p.vector, VectorFor(p.key, version, kDim)) << PointKeyToString(p.key);
}

PointKey StringKey(uint64_t k) {
  std::string name = "s";  // appended, not "s" + ...: GCC 12 warns falsely (-Wrestrict) on that
  name += std::to_string(k);
  return PointKey::String(std::move(name));
}

class StoreConcurrencyTest : public testutil::TempDirTest, public ::testing::WithParamInterface<SyncPolicy> {};

TEST_P(StoreConcurrencyTest, ReadersRunBesideTheWriter) {
  StoreOptions options = testing::CreateOptions(kDim, GetParam());
  options.sync_interval_ms = 2;
  auto opened = Store::Open(Path("store.db"), options);
  ASSERT_OK(opened);
  Store& store = **opened;

  std::atomic<bool> done{false};
  std::atomic<uint64_t> reads{0};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);

  const auto write_until_deadline = [&] {
    for (uint64_t b = 1; std::chrono::steady_clock::now() < deadline; ++b) {
      if (b % 5 == 0) {
        std::vector<PointKey> keys = {PointKey::Int(b % kKeys), PointKey::Int((b * 7) % kKeys)};
        ASSERT_OK(store.Delete(keys));
        continue;
      }
      std::vector<Point> batch;
      for (uint64_t i = 0; i < 10; ++i) {
        PointKey key = (b + i) % 4 == 0 ? StringKey((b * 13 + i) % kKeys)
                                        : PointKey::Int((b * 13 + i) % kKeys);
        batch.push_back(MakePoint(std::move(key), b, kDim, PayloadFor(b)));
      }
      ASSERT_OK(store.Upsert(batch));
      if (b % 50 == 0) ASSERT_OK(store.TruncateChangesUpTo(store.LastSequence() / 2));
      if (b % 70 == 0) ASSERT_OK(store.Checkpoint());
    }
  };
  std::thread writer([&] {
    write_until_deadline();  // returns early on a failed assertion
    done = true;
  });

  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&, r] {
      uint64_t last_seen_sequence = 0;
      for (uint64_t i = 0; !done; ++i) {
        // Sequences only move forward for an observer.
        const uint64_t seq = store.LastSequence();
        EXPECT_GE(seq, last_seen_sequence);
        last_seen_sequence = seq;
        switch ((i + r) % 4) {
          case 0: {
            std::vector<PointKey> keys = {PointKey::Int(i % kKeys), StringKey(i % kKeys)};
            auto got = store.Get(keys, true, true);
            ASSERT_OK(got);
            for (const StoredPoint& p : *got) CheckPoint(p);
            break;
          }
          case 1: {
            auto page = store.Scroll(PointKey::Int(i % kKeys), 25, true, true);
            ASSERT_OK(page);
            for (size_t k = 0; k < page->points.size(); ++k) {
              CheckPoint(page->points[k]);
              if (k > 0) {
                EXPECT_LT(page->points[k - 1].key, page->points[k].key);
              }
            }
            break;
          }
          case 2: {
            // The log is contiguous from wherever truncation left it (ForEachChange checks);
            // a truncation landing between the two calls is the one acceptable failure.
            uint64_t previous = 0;
            Status st = store.ForEachChange(store.TruncatedThrough(), [&](const Change& c) {
              EXPECT_TRUE(previous == 0 || c.sequence == previous + 1);
              previous = c.sequence;
              return Status::Ok();
            });
            if (st.code() != StatusCode::kFailedPrecondition) {
              ASSERT_OK(st);
            }
            auto count = store.Count();
            ASSERT_OK(count);
            EXPECT_LE(*count, 2 * kKeys);
            break;
          }
          default: {
            std::vector<Label> ids = {i % 500 + 1, i % 37 + 1};
            auto got = store.GetById(ids, true, true);
            ASSERT_OK(got);
            for (const StoredPoint& p : *got) CheckPoint(p);
          }
        }
        ++reads;
      }
    });
  }
  writer.join();
  for (std::thread& t : readers) t.join();
  EXPECT_GT(reads.load(), 20u);
  std::printf("[ info     ] %llu reads beside %llu sequences written\n", static_cast<unsigned long long>(reads.load()),
              static_cast<unsigned long long>(store.LastSequence()));
  // Everything the writer left is readable and consistent.
  size_t streamed = 0;
  ASSERT_OK(store.ForEachPoint([&](Label, const PointKey&, std::span<const float> v) {
    EXPECT_EQ(v.size(), kDim);
    ++streamed;
    return Status::Ok();
  }));
  EXPECT_EQ(streamed, *store.Count());
}

INSTANTIATE_TEST_SUITE_P(SyncPolicies, StoreConcurrencyTest,
                         ::testing::Values(SyncPolicy::kEveryBatch, SyncPolicy::kInterval),
                         [](const ::testing::TestParamInfo<SyncPolicy>& info) {
                           return info.param == SyncPolicy::kEveryBatch ? std::string("EveryBatch")
                                                                        : std::string("Interval");
                         });

}  // namespace
}  // namespace vecdex::store
