// Running a loop over several threads.
//
// ParallelFor splits [0, count) into chunks handed out dynamically to `threads` workers (the
// calling thread is one of them), so uneven chunks balance themselves. Threads are started per
// call: callers use it for coarse work (a batch of queries, a block of rows), where a thread
// start (~20 us) is noise.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace vecdex {

// Cores available to this process (at least 1). Read once: glibc answers by reading sysfs,
// which cost 4% of a server's CPU when asked on every single-query search.
inline size_t HardwareThreads() {
  static const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  return cores;
}

// 0 means "all cores"; never more workers than items.
inline size_t ResolveThreads(size_t requested, size_t items) {
  if (items <= 1) return 1;
  const size_t t = requested == 0 ? HardwareThreads() : requested;
  return std::max<size_t>(1, std::min(t, items));
}

// Calls fn(begin, end, worker) for consecutive chunks of at most `chunk` items covering
// [0, count). `worker` is in [0, threads) and identifies the thread, for per-thread scratch.
template <typename Fn>
void ParallelFor(size_t count, size_t chunk, size_t threads, Fn&& fn) {
  if (count == 0) return;
  chunk = std::max<size_t>(1, chunk);
  const size_t chunks = (count + chunk - 1) / chunk;
  threads = ResolveThreads(threads, chunks);
  std::atomic<size_t> next{0};
  auto work = [&](size_t worker) {
    for (size_t c = next.fetch_add(1); c < chunks; c = next.fetch_add(1)) {
      const size_t begin = c * chunk;
      fn(begin, std::min(count, begin + chunk), worker);
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
}

}  // namespace vecdex
