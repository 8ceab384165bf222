#include "db/memory_budget.h"

namespace vecdex::db {

size_t MemoryBudget::used() const {
  std::lock_guard lock(mu_);
  return reported_total_ + reserved_;
}

bool MemoryBudget::TryReserve(size_t bytes) {
  std::lock_guard lock(mu_);
  if (limit_ != 0 && reported_total_ + reserved_ + bytes > limit_) return false;
  reserved_ += bytes;
  return true;
}

void MemoryBudget::Release(size_t bytes) {
  std::lock_guard lock(mu_);
  reserved_ -= bytes < reserved_ ? bytes : reserved_;
}

void MemoryBudget::Report(const void* owner, size_t bytes) {
  std::lock_guard lock(mu_);
  auto it = reported_.find(owner);
  if (it != reported_.end()) {
    reported_total_ -= it->second;
    if (bytes == 0) {
      reported_.erase(it);
      return;
    }
    it->second = bytes;
  } else if (bytes != 0) {
    reported_.emplace(owner, bytes);
  }
  reported_total_ += bytes;
}

}  // namespace vecdex::db
