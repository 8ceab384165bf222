#include "server/fair_gate.h"

#include <algorithm>

namespace vecdex::server {

FairGate::FairGate(size_t slots) : slots_(std::max<size_t>(1, slots)) {}

void FairGate::Enter() {
  std::unique_lock lock(mu_);
  const uint64_t ticket = next_ticket_++;
  cv_.wait(lock, [&] { return ticket < left_ + slots_; });
}

void FairGate::Leave() {
  {
    std::lock_guard lock(mu_);
    ++left_;
  }
  // Every waiter re-checks its ticket; exactly the next one in line passes.
  cv_.notify_all();
}

}  // namespace vecdex::server
