// MemoryBudget: the bytes all collections' indexes of one database may hold. Each collection
// reports what its index holds after every write; a write that would add memory first reserves
// its estimate, so two collections growing at once cannot both slip under the limit.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>

namespace vecdex::db {

class MemoryBudget {
 public:
  explicit MemoryBudget(size_t limit_bytes) : limit_(limit_bytes) {}

  size_t limit() const { return limit_; }  // 0: unlimited
  size_t used() const;                     // reported by every collection, plus reservations

  // Adds `bytes` to the reservations unless that takes used() past the limit.
  bool TryReserve(size_t bytes);
  void Release(size_t bytes);
  // Sets what `owner`'s index holds now (0 forgets it).
  void Report(const void* owner, size_t bytes);

 private:
  const size_t limit_;
  mutable std::mutex mu_;
  std::map<const void*, size_t> reported_;  // guarded by mu_
  size_t reported_total_ = 0;               // guarded by mu_
  size_t reserved_ = 0;                     // guarded by mu_
};

}  // namespace vecdex::db
