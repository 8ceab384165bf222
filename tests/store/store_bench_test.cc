// Throughput measurements, disabled by default (they take seconds and measure the disk):
//   build-store/store_test --gtest_also_run_disabled_tests --gtest_filter='StoreBench.*'
// Upserts 100k points of dimension 128 in batches of 1,000 under each sync policy, then times
// reopening under each OpenCheck and a full ForEachPoint scan.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "store/store.h"
#include "testutil/temp_dir.h"
#include "testutil/test_util.h"

namespace vecdex::store {
namespace {

constexpr size_t kDim = 128;
constexpr size_t kPoints = 100000;
constexpr size_t kBatch = 1000;

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

class StoreBench : public testutil::TempDirTest {};

TEST_F(StoreBench, DISABLED_UpsertThroughputAndOpenCost) {
  const std::vector<float> values = testutil::RandomVectors(kPoints, kDim, 7);
  for (SyncPolicy sync : {SyncPolicy::kEveryBatch, SyncPolicy::kInterval}) {
    const std::string path = Path(sync == SyncPolicy::kEveryBatch ? "every.db" : "interval.db");
    StoreOptions options;
    options.create = true;
    options.dim = kDim;
    options.sync = sync;
    {
      auto store = Store::Open(path, options);
      ASSERT_OK(store);
      std::vector<Point> batch(kBatch);
      const auto start = std::chrono::steady_clock::now();
      for (size_t first = 0; first < kPoints; first += kBatch) {
        for (size_t i = 0; i < kBatch; ++i) {
          const size_t row = first + i;
          batch[i].key = row % 2 == 0 ? PointKey::Int(row) : PointKey::String(std::string("doc-").append(std::to_string(row)));
          batch[i].vector.assign(values.begin() + row * kDim, values.begin() + (row + 1) * kDim);
          batch[i].payload_json = row % 4 == 0 ? std::string(R"({"group":)").append(std::to_string(row % 10)).append("}") : "";
        }
        ASSERT_OK((*store)->Upsert(batch));
      }
      ASSERT_OK((*store)->Sync());
      const double seconds = SecondsSince(start);
      std::printf("[ bench    ] %s: %zu points x %zu dims in batches of %zu: %.2f s, %.0f points/s\n",
                  sync == SyncPolicy::kEveryBatch ? "every-batch" : "interval   ", kPoints, kDim, kBatch, seconds,
                  kPoints / seconds);
      auto sizes = (*store)->FileSizes();
      ASSERT_OK(sizes);
      std::printf("[ bench    ]   files: store.db %.1f MB, WAL %.1f MB\n", sizes->database_bytes / 1e6,
                  sizes->wal_bytes / 1e6);
    }
    if (sync != SyncPolicy::kEveryBatch) continue;
    for (OpenCheck check : {OpenCheck::kNone, OpenCheck::kQuick, OpenCheck::kFull}) {
      StoreOptions reopen;
      reopen.check_on_open = check;
      const auto start = std::chrono::steady_clock::now();
      auto store = Store::Open(path, reopen);
      ASSERT_OK(store);
      const char* name = check == OpenCheck::kNone ? "none " : (check == OpenCheck::kQuick ? "quick" : "full ");
      std::printf("[ bench    ] open with check %s: %.3f s\n", name, SecondsSince(start));
      if (check == OpenCheck::kFull) {
        const auto scan = std::chrono::steady_clock::now();
        size_t n = 0;
        ASSERT_OK((*store)->ForEachPoint([&](Label, const PointKey&, std::span<const float>) {
          ++n;
          return Status::Ok();
        }));
        EXPECT_EQ(n, kPoints);
        std::printf("[ bench    ] ForEachPoint over %zu points: %.3f s\n", n, SecondsSince(scan));
      }
    }
  }
}

}  // namespace
}  // namespace vecdex::store
