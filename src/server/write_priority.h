// Index writes run at a lower CPU priority than searches.
//
// An upsert spends milliseconds of CPU inserting into the HNSW graph; on a machine with few cores
// the searches that arrive meanwhile wait for a core behind it, which is what a search's p99
// latency under a mixed load measures. Lowering the writing thread's priority (nice +10) for the
// duration of the write lets the kernel run searches first; writes still get every idle cycle.
// Linux lets a thread lower its own priority, but raising it back needs CAP_SYS_NICE or an
// RLIMIT_NICE allowance: without them the scope does nothing rather than leave an HTTP worker
// thread permanently slower.
#pragma once

namespace vecdex::server {

class ScopedWritePriority {
 public:
  ScopedWritePriority();
  ~ScopedWritePriority();
  ScopedWritePriority(const ScopedWritePriority&) = delete;
  ScopedWritePriority& operator=(const ScopedWritePriority&) = delete;

 private:
  int previous_ = 0;
  bool changed_ = false;
};

}  // namespace vecdex::server
