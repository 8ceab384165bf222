// The server's CPU scheduling helpers: FairGate (searches admitted in arrival order, at most N at
// a time) and LowPriorityWriters (writes on nice-19 threads).
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "server/fair_gate.h"
#include "server/write_priority.h"

namespace vecdex::server {
namespace {

using namespace std::chrono_literals;

TEST(FairGateTest, NeverLetsMoreThanItsSlotsThrough) {
  FairGate gate(2);
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        const FairGate::Pass pass(gate);
        const int now = inside.fetch_add(1) + 1;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::yield();
        inside.fetch_sub(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(inside.load(), 0);
  EXPECT_EQ(most.load(), 2);
}

TEST(FairGateTest, AdmitsWaitersInArrivalOrder) {
  FairGate gate(1);
  std::mutex order_mu;
  std::vector<int> order;
  std::vector<std::thread> waiters;
  {
    const FairGate::Pass held(gate);  // everyone below queues behind this
    for (int i = 0; i < 5; ++i) {
      waiters.emplace_back([&, i] {
        const FairGate::Pass pass(gate);
        std::lock_guard lock(order_mu);
        order.push_back(i);
      });
      // Each waiter takes its ticket before the next starts (it blocks holding it).
      std::this_thread::sleep_for(20ms);
    }
  }
  for (std::thread& t : waiters) t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(FairGateTest, ZeroSlotsMeansOne) {
  FairGate gate(0);
  EXPECT_EQ(gate.slots(), 1u);
  const FairGate::Pass pass(gate);
}

TEST(LowPriorityWritersTest, RunsOnANiceThreadAndReturnsItsResult) {
  LowPriorityWriters writers(2);
  const pid_t caller = static_cast<pid_t>(::syscall(SYS_gettid));
  const int caller_nice = ::getpriority(PRIO_PROCESS, static_cast<id_t>(caller));
  const auto [tid, nice] = writers.Run([] {
    const pid_t self = static_cast<pid_t>(::syscall(SYS_gettid));
    return std::pair<pid_t, int>(self, ::getpriority(PRIO_PROCESS, static_cast<id_t>(self)));
  });
  EXPECT_NE(tid, caller);
  EXPECT_EQ(nice, 19);
  // The caller's own priority is untouched.
  EXPECT_EQ(::getpriority(PRIO_PROCESS, static_cast<id_t>(caller)), caller_nice);
}

TEST(LowPriorityWritersTest, PassesExceptionsToTheCaller) {
  LowPriorityWriters writers(1);
  EXPECT_THROW(writers.Run([]() -> int { throw std::runtime_error("boom"); }), std::runtime_error);
  EXPECT_EQ(writers.Run([] { return 7; }), 7);  // the thread survived
}

TEST(LowPriorityWritersTest, ManyCallersAllGetTheirOwnResults) {
  LowPriorityWriters writers(3);
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        if (writers.Run([&] { return t * 1000 + i; }) != t * 1000 + i) wrong.fetch_add(1);
      }
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace vecdex::server
