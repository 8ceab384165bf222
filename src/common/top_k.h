// Keeping the k nearest of a stream of (distance, label) candidates.
//
// Tie order, used by every exact search in vecdex: nearer first; at equal distance the smaller
// label first. TopK is a bounded max-heap on that order, so its root is the candidate that the
// next better one evicts.
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>
#include <vector>

#include "vecdex/types.h"

namespace vecdex {

struct Neighbor {
  float distance;
  Label label;

  // "a is nearer than b" in the tie order above.
  friend bool operator<(const Neighbor& a, const Neighbor& b) {
    return a.distance < b.distance || (a.distance == b.distance && a.label < b.label);
  }
};

class TopK {
 public:
  explicit TopK(size_t k = 0) { Reset(k); }

  void Reset(size_t k) {
    k_ = k;
    heap_.clear();
    heap_.reserve(k);
  }
  size_t k() const { return k_; }
  size_t size() const { return heap_.size(); }

  // Distance a candidate must beat (or tie with a smaller label) to enter; +inf until full.
  float threshold() const {
    return heap_.size() < k_ ? std::numeric_limits<float>::infinity() : heap_.front().distance;
  }

  // Whether the candidate entered (the k nearest changed).
  bool Push(float distance, Label label) {
    const Neighbor n{distance, label};
    if (heap_.size() < k_) {
      heap_.push_back(n);
      std::push_heap(heap_.begin(), heap_.end());
      return true;
    }
    if (k_ == 0 || !(n < heap_.front())) return false;
    std::pop_heap(heap_.begin(), heap_.end());
    heap_.back() = n;
    std::push_heap(heap_.begin(), heap_.end());
    return true;
  }

  // Empties the heap into `out`, nearest first.
  void TakeSorted(std::vector<Neighbor>* out) {
    std::sort_heap(heap_.begin(), heap_.end());
    out->swap(heap_);
    heap_.clear();
  }

 private:
  size_t k_ = 0;
  std::vector<Neighbor> heap_;
};

}  // namespace vecdex
