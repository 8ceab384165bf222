// Crash safety: a child process streams acknowledged batches into the store and is SIGKILLed at
// a random moment; the parent reopens the store and checks that it holds exactly the batches
// acknowledged, plus possibly the one in flight, each batch whole. Repeated on one store.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <random>
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
using testing::ReadAll;
using testing::VectorFor;

constexpr size_t kDim = 6;
constexpr uint64_t kKeySpace = 300;
constexpr int kRounds = 24;

// Batch b, the same in parent and child: either an upsert of up to 12 keys (version b + 1) or a
// delete of up to 6 keys, one transaction either way.
struct Batch {
  bool is_delete = false;
  std::vector<PointKey> keys;
};

PointKey KeyFor(uint64_t k) {
  // A third of the keys are strings, so both unique indexes see traffic.
  return k % 3 == 0 ? PointKey::String("key-" + std::to_string(k)) : PointKey::Int(k);
}

Batch MakeBatch(uint64_t seed, uint64_t b) {
  std::mt19937_64 rng(seed * 1000003 + b);
  Batch batch;
  batch.is_delete = rng() % 4 == 0;
  const size_t n = 1 + rng() % (batch.is_delete ? 6 : 12);
  std::vector<uint64_t> picked;
  while (picked.size() < n) {
    const uint64_t k = rng() % kKeySpace;
    if (std::find(picked.begin(), picked.end(), k) == picked.end()) picked.push_back(k);
  }
  for (uint64_t k : picked) batch.keys.push_back(KeyFor(k));
  return batch;
}

// What the store must hold after a prefix of the batches: key -> version, and the sequence count.
struct Model {
  std::map<PointKey, uint64_t> versions;
  uint64_t sequences = 0;

  void Apply(const Batch& batch, uint64_t b) {
    for (const PointKey& key : batch.keys) {
      if (batch.is_delete) {
        sequences += versions.erase(key);
      } else {
        versions[key] = b + 1;
        ++sequences;
      }
    }
  }
};

[[noreturn]] void RunChild(const std::string& path, SyncPolicy sync, uint64_t seed, uint64_t first_batch, int fd) {
  StoreOptions options;
  options.sync = sync;
  options.sync_interval_ms = 20;
  auto opened = Store::Open(path, options);
  if (!opened.ok()) _exit(3);
  Store& store = **opened;
  for (uint64_t b = first_batch;; ++b) {
    const Batch batch = MakeBatch(seed, b);
    if (batch.is_delete) {
      if (!store.Delete(batch.keys).ok()) _exit(4);
    } else {
      std::vector<Point> points;
      for (const PointKey& key : batch.keys) points.push_back(MakePoint(key, b + 1, kDim));
      if (!store.Upsert(points).ok()) _exit(5);
    }
    // Acknowledged: the call returned OK. Only now does the parent learn of it.
    const uint64_t acked = b;
    if (write(fd, &acked, sizeof(acked)) != static_cast<ssize_t>(sizeof(acked))) _exit(6);
  }
}

// Whether the store's content equals the model exactly (keys, vectors, last sequence).
::testing::AssertionResult Matches(Store& store, const std::map<PointKey, StoredPoint>& actual, const Model& model) {
  if (store.LastSequence() != model.sequences) {
    return ::testing::AssertionFailure() << "last sequence " << store.LastSequence() << ", model " << model.sequences;
  }
  if (actual.size() != model.versions.size()) {
    return ::testing::AssertionFailure() << actual.size() << " points, model " << model.versions.size();
  }
  for (const auto& [key, version] : model.versions) {
    auto it = actual.find(key);
    if (it == actual.end()) return ::testing::AssertionFailure() << "missing " << PointKeyToString(key);
    if (it->second.vector != VectorFor(key, version, kDim)) {
      return ::testing::AssertionFailure() << PointKeyToString(key) << " does not hold version " << version;
    }
  }
  return ::testing::AssertionSuccess();
}

class StoreCrashTest : public testutil::TempDirTest, public ::testing::WithParamInterface<SyncPolicy> {};

TEST_P(StoreCrashTest, CrashKill9DuringWritesLosesNothingAcknowledged) {
  const std::string path = Path("store.db");
  { ASSERT_OK(Store::Open(path, testing::CreateOptions(kDim))); }
  const uint64_t seed = 20260101 + static_cast<uint64_t>(GetParam());
  std::mt19937_64 rng(seed);
  Model applied;  // the store's state after `next_batch` batches
  uint64_t next_batch = 0;
  int rounds_with_inflight = 0;
  uint64_t truncated_through = 0;

  for (int round = 0; round < kRounds; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      RunChild(path, GetParam(), seed, next_batch, fds[1]);
    }
    close(fds[1]);
    // Half the kills land early (2-20 ms: often while the child opens and recovers the
    // store), half later (up to 100 ms: deep in the stream).
    const uint64_t delay_us = round % 2 == 0 ? 2000 + rng() % 18000 : 20000 + rng() % 80000;
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited early with code " << WEXITSTATUS(wstatus);
    uint64_t acked_through = next_batch;  // one past the last acknowledged batch
    uint64_t b = 0;
    while (read(fds[0], &b, sizeof(b)) == static_cast<ssize_t>(sizeof(b))) {
      ASSERT_EQ(b, acked_through) << "acknowledgements arrive in order";
      acked_through = b + 1;
    }
    close(fds[0]);

    Model acked = applied;
    for (uint64_t i = next_batch; i < acked_through; ++i) acked.Apply(MakeBatch(seed, i), i);
    Model with_inflight = acked;
    with_inflight.Apply(MakeBatch(seed, acked_through), acked_through);

    StoreOptions options;
    options.sync = GetParam();
    auto reopened = Store::Open(path, options);
    ASSERT_OK(reopened);
    auto actual = ReadAll(**reopened);
    ASSERT_OK(actual);
    EXPECT_EQ(*(*reopened)->Count(), actual->size());
    // The change log continues where the last round truncated it, without gaps (ForEachChange
    // checks contiguity), and sequences are never reused.
    const uint64_t last = (*reopened)->LastSequence();
    ASSERT_GE(last, truncated_through);
    uint64_t changes = 0;
    ASSERT_OK((*reopened)->ForEachChange(truncated_through, [&](const Change& c) {
      EXPECT_EQ(c.sequence, truncated_through + ++changes);
      return Status::Ok();
    }));
    EXPECT_EQ(changes, last - truncated_through);
    if (round % 2 == 1 && last > 0) {  // truncation must survive later crashes too
      ASSERT_OK((*reopened)->TruncateChangesUpTo(last));
      truncated_through = last;
    }
    if (Matches(**reopened, *actual, acked)) {
      applied = acked;
      next_batch = acked_through;
    } else {
      // The batch in flight may have committed before its acknowledgement was written; then it
      // must be there entirely.
      ASSERT_TRUE(Matches(**reopened, *actual, with_inflight))
          << "round " << round << ": state is neither the " << acked_through << " acknowledged batches nor them plus "
          << "the one in flight; vs acknowledged: " << Matches(**reopened, *actual, acked).message();
      applied = with_inflight;
      next_batch = acked_through + 1;
      ++rounds_with_inflight;
    }
  }
  EXPECT_GT(next_batch, static_cast<uint64_t>(kRounds)) << "the child should get batches in before most kills";
  std::printf("[ info     ] %d rounds, %llu batches applied, %d kills landed after a commit but before its ack\n",
              kRounds, static_cast<unsigned long long>(next_batch), rounds_with_inflight);
}

INSTANTIATE_TEST_SUITE_P(SyncPolicies, StoreCrashTest,
                         ::testing::Values(SyncPolicy::kEveryBatch, SyncPolicy::kInterval),
                         [](const ::testing::TestParamInfo<SyncPolicy>& info) {
                           return info.param == SyncPolicy::kEveryBatch ? std::string("EveryBatch")
                                                                        : std::string("Interval");
                         });

}  // namespace
}  // namespace vecdex::store
