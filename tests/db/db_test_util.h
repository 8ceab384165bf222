// Helpers shared by the database tests: a fixture on tmpfs, deterministic points, a model of what a
// collection must hold, and whole-collection reads through the public API only.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <spawn.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "testutil/temp_dir.h"
#include "testutil/test_util.h"
#include "vecdex/database.h"
#include "vecdex/point.h"

// `lhs` = the value of Result `rexpr`, or the test fails here.
#define ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  ASSERT_OK_AND_ASSIGN_IMPL(VECDEX_STATUS_CONCAT(vecdex_test_result_, __LINE__), lhs, rexpr)
#define ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                              \
  ASSERT_OK(tmp);                                  \
  lhs = std::move(tmp).value()

namespace vecdex {
// Readable parameters in test names' GetParam() lines ("l2" rather than "1-byte object <00>").
inline void PrintTo(Metric metric, std::ostream* os) { *os << MetricName(metric); }
inline void PrintTo(SyncPolicy sync, std::ostream* os) { *os << (sync == SyncPolicy::kEveryBatch ? "every_batch" : "interval"); }
}  // namespace vecdex

namespace vecdex::dbtest {

namespace fs = std::filesystem;

// Predicate formatters behind EXPECT_CODE / EXPECT_SUCCESS: like EXPECT_STATUS / EXPECT_OK, but
// they accept a streamed message (`EXPECT_CODE(r, kNotFound) << name;`).
template <typename T>
::testing::AssertionResult HasCodeFormat(const char* expr, const char*, const T& result, StatusCode code) {
  if (testutil::CodeOf(result) == code) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << expr << " gave " << testutil::StatusText(result) << ", expected code "
                                       << StatusCodeName(code);
}
template <typename T>
::testing::AssertionResult IsOkFormat(const char* expr, const T& result) {
  if (testutil::CodeOf(result) == StatusCode::kOk) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << expr << " gave " << testutil::StatusText(result);
}
#define EXPECT_CODE(expr, code) EXPECT_PRED_FORMAT2(::vecdex::dbtest::HasCodeFormat, expr, code)
#define EXPECT_SUCCESS(expr) EXPECT_PRED_FORMAT1(::vecdex::dbtest::IsOkFormat, expr)

// True in AddressSanitizer and ThreadSanitizer builds: heavy tests scale their rounds down.
inline constexpr bool kSanitized =
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    true;
#else
    false;
#endif
#else
    false;
#endif

inline uint64_t KeyHash(const PointKey& key) {
  if (key.is_int()) return key.int_value() * 0x9E3779B97F4A7C15ull + 1;
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : key.string_value()) h = (h ^ c) * 1099511628211ull;
  return h;
}

// A standard normal vector, a deterministic function of (key, version).
inline std::vector<float> VectorFor(const PointKey& key, uint64_t version, size_t dim) {
  std::mt19937_64 rng(KeyHash(key) ^ (version * 0xD1B54A32D192ED03ull));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(dim);
  for (float& x : v) x = normal(rng);
  return v;
}

inline Point MakePoint(PointKey key, uint64_t version, size_t dim, std::string payload = "") {
  std::vector<float> vector = VectorFor(key, version, dim);
  return Point{std::move(key), std::move(vector), std::move(payload)};
}

inline PointKey IntKey(uint64_t k) { return PointKey::Int(k); }
inline PointKey StrKey(std::string_view s) { return PointKey::String(std::string(s)); }

// Payloads are stored re-serialised: compare them as JSON values ("" = no payload).
inline bool SameJson(std::string_view a, std::string_view b) {
  if (a.empty() || b.empty()) return a.empty() && b.empty();
  const auto ja = nlohmann::json::parse(a, nullptr, /*allow_exceptions=*/false);
  const auto jb = nlohmann::json::parse(b, nullptr, /*allow_exceptions=*/false);
  return !ja.is_discarded() && !jb.is_discarded() && ja == jb;
}

// What a collection must hold: key -> vector and payload.
struct Expected {
  std::vector<float> vector;
  std::string payload;
};
using Model = std::map<PointKey, Expected>;

inline void ApplyUpserts(Model& model, const std::vector<Point>& points) {
  for (const Point& p : points) model[p.key] = Expected{p.vector, p.payload_json};
}

// Every point of the collection, by key, read through Scroll (pages of `page`). Fails when the
// pages are not in strictly increasing key order.
inline Result<std::map<PointKey, PointRecord>> ReadAll(Collection& c, size_t page = 97) {
  std::map<PointKey, PointRecord> all;
  ScrollRequest request;
  request.limit = page;
  request.with_vector = true;
  request.with_payload = true;
  std::optional<PointKey> last;
  while (true) {
    VECDEX_ASSIGN_OR_RETURN(ScrollResult r, c.Scroll(request));
    for (PointRecord& p : r.points) {
      if (last.has_value() && !(*last < p.key)) {
        return Status::Internal("scroll out of order at " + PointKeyToString(p.key));
      }
      last = p.key;
      PointKey key = p.key;
      all.emplace(std::move(key), std::move(p));
    }
    if (!r.next.has_value()) break;
    if (r.points.empty()) return Status::Internal("scroll returned an empty page with a next key");
    request.start_after = r.next;
  }
  return all;
}

// Whether `actual` holds exactly `model` (keys, vectors bit for bit, payloads as JSON).
inline ::testing::AssertionResult SameContent(const std::map<PointKey, PointRecord>& actual, const Model& model) {
  if (actual.size() != model.size()) {
    return ::testing::AssertionFailure() << actual.size() << " points, expected " << model.size();
  }
  for (const auto& [key, want] : model) {
    auto it = actual.find(key);
    if (it == actual.end()) return ::testing::AssertionFailure() << "missing " << PointKeyToString(key);
    if (it->second.vector != want.vector) {
      return ::testing::AssertionFailure() << PointKeyToString(key) << ": vector differs";
    }
    if (!SameJson(it->second.payload_json, want.payload)) {
      return ::testing::AssertionFailure() << PointKeyToString(key) << ": payload '" << it->second.payload_json
                                           << "', expected '" << want.payload << "'";
    }
  }
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult Holds(Collection& c, const Model& model) {
  auto all = ReadAll(c);
  if (!all.ok()) return ::testing::AssertionFailure() << all.status().ToString();
  auto r = SameContent(*all, model);
  if (!r) return r;
  auto count = c.Count();
  if (!count.ok()) return ::testing::AssertionFailure() << count.status().ToString();
  if (*count != model.size()) return ::testing::AssertionFailure() << "Count() " << *count << ", expected " << model.size();
  return ::testing::AssertionSuccess();
}

inline std::vector<PointKey> KeysOf(const std::vector<ScoredPoint>& hits) {
  std::vector<PointKey> keys;
  for (const ScoredPoint& h : hits) keys.push_back(h.key);
  return keys;
}

inline bool Contains(const std::vector<ScoredPoint>& hits, const PointKey& key) {
  return std::any_of(hits.begin(), hits.end(), [&](const ScoredPoint& h) { return h.key == key; });
}

// Unrestricted self-searches of an approximate index, counted rather than asserted one by one:
// an HNSW graph built by parallel batch inserts may leave a rare node that a search for its own
// vector does not reach (seen at 0-1% of 600 points with two build threads; none with one).
struct SelfSearchTally {
  size_t tried = 0;
  size_t missed = 0;
  std::string first_miss;  // what the search found instead, for the failure message
  // At most one miss in 25 (plus one): catches an index that lost points, not HNSW's rare misses.
  ::testing::AssertionResult Acceptable() const {
    if (missed <= 1 + tried / 25) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << missed << " of " << tried << " points not found by their own vector ("
                                         << first_miss << ")";
  }
};

// Whether the index serves `key` with `vector`: searching the vector restricted to the key (so
// that any metric and any index kind must return it) finds it; with `unrestricted`, a plain
// search with k = 10 finds it too (`exact`: as the nearest, for L2/cosine flat indexes). With a
// tally, misses of that plain search by an approximate index are counted instead of failing.
inline ::testing::AssertionResult IndexFinds(Collection& c, const PointKey& key, const std::vector<float>& vector,
                                             bool unrestricted, bool exact, SelfSearchTally* tally = nullptr) {
  SearchRequest request;
  request.k = 1;
  request.only_keys = std::vector<PointKey>{key};
  auto only = c.Search(vector, request);
  if (!only.ok()) return ::testing::AssertionFailure() << only.status().ToString();
  if (only->size() != 1 || (*only)[0].key != key) {
    return ::testing::AssertionFailure() << "search restricted to " << PointKeyToString(key) << " gave "
                                         << only->size() << " results";
  }
  // The index holds this very vector: its distance to itself is the exact one (f16 codes: close).
  const double self = testutil::ReferenceDistance(c.config().metric, vector.data(), vector.data(), vector.size());
  const double tolerance = (c.config().index_spec.find("storage=f16") != std::string::npos ? 2e-2 : 1e-3) *
                           (1 + std::abs(self));
  if (std::abs((*only)[0].distance - self) > tolerance) {
    return ::testing::AssertionFailure() << PointKeyToString(key) << " is indexed with another vector: distance "
                                         << (*only)[0].distance << " to its own, expected " << self;
  }
  if (!unrestricted) return ::testing::AssertionSuccess();
  request.only_keys.reset();
  request.k = exact ? 1 : 10;
  auto all = c.Search(vector, request);
  if (!all.ok()) return ::testing::AssertionFailure() << all.status().ToString();
  const bool found = Contains(*all, key);
  if (tally != nullptr && !exact) {
    ++tally->tried;
    if (!found) {
      if (tally->missed++ == 0) {
        tally->first_miss = PointKeyToString(key) + ": nearest found at distance " +
                            (all->empty() ? std::string("-") : std::to_string((*all)[0].distance));
      }
    }
    return ::testing::AssertionSuccess();
  }
  if (!found) {
    return ::testing::AssertionFailure() << "searching the vector of " << PointKeyToString(key) << " with k = "
                                         << request.k << " does not find it";
  }
  return ::testing::AssertionSuccess();
}

// Whether the index serves none of `keys` (deleted points).
inline ::testing::AssertionResult IndexLacks(Collection& c, const std::vector<PointKey>& keys, size_t dim) {
  if (keys.empty()) return ::testing::AssertionSuccess();
  SearchRequest request;
  request.k = keys.size();
  request.only_keys = keys;
  auto r = c.Search(std::vector<float>(dim, 0.5f), request);
  if (!r.ok()) return ::testing::AssertionFailure() << r.status().ToString();
  if (!r->empty()) {
    return ::testing::AssertionFailure() << "search returned deleted point " << PointKeyToString((*r)[0].key);
  }
  return ::testing::AssertionSuccess();
}

// Polls Info() until the collection's status is "ready" (a mapped snapshot made writable);
// false after `seconds`.
inline bool WaitReady(Collection& c, double seconds = 60) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    auto info = c.Info();
    if (!info.ok()) return false;
    if (info->status == "ready") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

inline std::string VerifyText(const Result<VerifyReport>& r) {
  if (!r.ok()) return r.status().ToString();
  std::string s = r->ok ? "ok" : "problems:";
  for (const std::string& p : r->problems) s += "\n  " + p;
  return s;
}
#define EXPECT_VERIFIED(collection)                                                   \
  do {                                                                                \
    auto vecdex_verify_ = (collection).Verify();                                      \
    EXPECT_TRUE(vecdex_verify_.ok() && vecdex_verify_->ok && vecdex_verify_->problems.empty()) \
        << ::vecdex::dbtest::VerifyText(vecdex_verify_);                              \
  } while (0)

// A test directory on tmpfs when there is one: these tests open hundreds of stores, and their
// fsyncs prove nothing here (crash tests kill processes, whose page cache survives them).
class DbTest : public testutil::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    MoveToTmpfs();
  }

  // Options whose log goes to logs_ (for checks, and to keep the output readable).
  DatabaseOptions Options() {
    DatabaseOptions options;
    options.log = [this](std::string_view message) {
      std::lock_guard<std::mutex> lock(log_mu_);
      logs_.emplace_back(message);
    };
    return options;
  }
  bool LogMentions(std::string_view word) {
    std::lock_guard<std::mutex> lock(log_mu_);
    for (const std::string& m : logs_) {
      std::string lower = m;
      for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (lower.find(word) != std::string::npos) return true;
    }
    return false;
  }
  std::string DbDir() const { return (dir_ / "db").string(); }
  std::string CollectionDir(const std::string& name, const std::string& root = "") const {
    return (fs::path(root.empty() ? DbDir() : root) / "collections" / name).string();
  }
  // Files in a collection's directory whose names start with `prefix`.
  std::vector<std::string> FilesStartingWith(const std::string& dir, const std::string& prefix) const {
    std::vector<std::string> out;
    if (!fs::is_directory(dir)) return out;
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (name.rfind(prefix, 0) == 0) out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::mutex log_mu_;
  std::vector<std::string> logs_;  // guarded by log_mu_
};

// A test-name-friendly name for an index spec of the parameterised suites.
inline std::string KindName(const std::string& spec) {
  if (spec == "flat") return "Flat";
  if (spec == "hnsw") return "Hnsw";
  if (spec == "hnsw:storage=f16") return "HnswF16";
  if (spec == "hnsw:storage=int8,rerank=true") return "HnswInt8Rerank";
  std::string out;
  for (char c : spec) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

// Database options that discard the log (an empty function would send it to stderr).
inline DatabaseOptions QuietOptions() {
  DatabaseOptions options;
  options.log = [](std::string_view) {};
  return options;
}

inline CollectionConfig Config(size_t dim, Metric metric, std::string spec,
                               SyncPolicy sync = SyncPolicy::kEveryBatch) {
  CollectionConfig config;
  config.dim = dim;
  config.metric = metric;
  config.index_spec = std::move(spec);
  config.sync = sync;
  return config;
}

// Child processes. A test that needs another process (a writer to SIGKILL, a second holder of
// the directory lock) runs this test binary again with a --gtest_filter naming one DISABLED_
// test, which reads its instructions from the environment. Spawning (rather than forking) gives
// the child a clean process even when the parent already runs threads (OpenBLAS starts its pool
// at load time, and ThreadSanitizer refuses threads in a child forked from a threaded parent).
// `close_in_child` are descriptors the child must not inherit (the parent's ends of pipes).
inline pid_t SpawnSelf(const std::string& test, const std::vector<std::string>& env,
                       const std::vector<int>& close_in_child = {}) {
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return -1;
  exe[n] = '\0';
  std::vector<std::string> args = {exe, "--gtest_filter=" + test, "--gtest_also_run_disabled_tests",
                                   "--gtest_brief=1"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> vars = env;
  for (char** e = environ; *e != nullptr; ++e) vars.emplace_back(*e);
  std::vector<char*> envp;
  for (std::string& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (int fd : close_in_child) posix_spawn_file_actions_addclose(&actions, fd);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, exe, &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

// The value of an environment variable, or "" (child tests skip themselves when it is unset).
inline std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

// Reads exactly `size` bytes from `fd`, waiting at most `seconds`; false on EOF or timeout.
inline bool ReadWithTimeout(int fd, void* data, size_t size, double seconds) {
  auto* out = static_cast<char*>(data);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (size > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    const ssize_t got = read(fd, out, size);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    out += got;
    size -= static_cast<size_t>(got);
  }
  return true;
}

}  // namespace vecdex::dbtest
