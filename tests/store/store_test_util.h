// Helpers shared by the store tests: deterministic points and whole-store snapshots.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "store/store.h"
#include "testutil/test_util.h"
#include "vecdex/point.h"

namespace vecdex::store::testing {

// A point whose vector is a deterministic function of (key, version): every component is exact
// in float32, so a read-back vector can be compared bit for bit.
inline std::vector<float> VectorFor(const PointKey& key, uint64_t version, size_t dim) {
  const uint64_t base = key.is_int() ? key.int_value() % 100003 : key.string_value().size() * 7919;
  std::vector<float> v(dim);
  for (size_t d = 0; d < dim; ++d) v[d] = static_cast<float>((base + version * 31 + d) % 4099) - 2049.0f;
  return v;
}

inline Point MakePoint(PointKey key, uint64_t version, size_t dim, std::string payload = "") {
  std::vector<float> vector = VectorFor(key, version, dim);
  return Point{std::move(key), std::move(vector), std::move(payload)};
}

inline StoreOptions CreateOptions(size_t dim, SyncPolicy sync = SyncPolicy::kEveryBatch) {
  StoreOptions options;
  options.create = true;
  options.dim = dim;
  options.sync = sync;
  return options;
}

// Every point of the store, by key, read through Scroll (pages of `page`).
inline Result<std::map<PointKey, StoredPoint>> ReadAll(Store& store, size_t page = 97) {
  std::map<PointKey, StoredPoint> all;
  std::optional<PointKey> start;
  while (true) {
    VECDEX_ASSIGN_OR_RETURN(ScrollPage p, store.Scroll(start, page, true, true));
    for (StoredPoint& sp : p.points) {
      PointKey key = sp.key;
      all.emplace(std::move(key), std::move(sp));
    }
    if (!p.next.has_value()) break;
    start = p.next;
  }
  return all;
}

}  // namespace vecdex::store::testing
