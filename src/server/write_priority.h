// Index writes run on a few threads of the lowest CPU priority (nice 19), below the searches.
//
// An upsert spends milliseconds of CPU inserting into the HNSW graph; on a machine with few cores
// the searches arriving meanwhile wait for a core behind it, which is what a search's p99 latency
// under a mixed load measures (measured on 2 cores: p99/p50 4.4x with writes at nice 10, 2.9x at
// nice 19; bench/RESULTS.md). A handler hands its write to these threads and waits for it, so the
// kernel runs searches first and writes still get every idle cycle. The threads stay at nice 19
// for their whole life: lowering a thread's priority needs no privilege, but raising it back
// does (CAP_SYS_NICE or RLIMIT_NICE), so HTTP workers could not lower theirs per request.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace vecdex::server {

class LowPriorityWriters {
 public:
  // `threads` at least 1: writes to one collection serialise on its write lock anyway, but
  // several writers let one commit while another waits for its fsync (group commit).
  explicit LowPriorityWriters(size_t threads);
  ~LowPriorityWriters();  // runs what is queued, then joins
  LowPriorityWriters(const LowPriorityWriters&) = delete;
  LowPriorityWriters& operator=(const LowPriorityWriters&) = delete;

  // Runs fn() on a writer thread and returns its result (or rethrows its exception).
  template <typename Fn>
  std::invoke_result_t<Fn&> Run(Fn&& fn) {
    std::packaged_task<std::invoke_result_t<Fn&>()> task(std::ref(fn));
    auto result = task.get_future();
    Post([&task] { task(); });
    return result.get();  // `task` and `fn` outlive the job: it is done before this returns
  }

 private:
  void Post(std::function<void()> job);
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace vecdex::server
