// FairGate: lets at most N callers through at a time, in the order they arrived.
//
// The server runs searches through one (N = cores). Searches are CPU-bound: with more of them
// running than there are cores, the kernel time-slices them, and a search preempted midway
// waits out other threads' slices (milliseconds, ten times the search itself) before it goes
// on; that wait is what a busy server's p99 latency measures. Admitting N at a time, first come
// first served, replaces it with a short queue before the search starts, and stops HTTP threads
// beyond the cores from adding context switches. Writes do not pass through it.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace vecdex::server {

class FairGate {
 public:
  explicit FairGate(size_t slots);  // at least 1
  FairGate(const FairGate&) = delete;
  FairGate& operator=(const FairGate&) = delete;

  // Holds a slot from construction (after waiting for it) to destruction.
  class Pass {
   public:
    explicit Pass(FairGate& gate) : gate_(gate) { gate_.Enter(); }
    ~Pass() { gate_.Leave(); }
    Pass(const Pass&) = delete;
    Pass& operator=(const Pass&) = delete;

   private:
    FairGate& gate_;
  };

  size_t slots() const { return slots_; }

 private:
  void Enter();
  void Leave();

  const size_t slots_;
  std::mutex mu_;
  std::condition_variable cv_;
  // Ticket t may pass once fewer than `slots_` earlier tickets are still inside, i.e. when
  // t < left_ + slots_ (tickets are handed out in arrival order; any holder may leave first).
  uint64_t next_ticket_ = 0;
  uint64_t left_ = 0;
};

}  // namespace vecdex::server
