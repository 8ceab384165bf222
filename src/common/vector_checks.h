// Validation of vectors at the API edge, shared by every index: inner loops never check.
#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <unordered_set>

#include "vecdex/status.h"
#include "vecdex/types.h"

namespace vecdex {

// InvalidArgument unless `vectors` has dimension `dim` and every component is finite.
// `what` names the vectors in the message ("query", "vector").
inline Status CheckVectors(MatrixView vectors, size_t dim, const char* what) {
  if (vectors.rows > 0 && vectors.dim != dim) {
    return Status::InvalidArgument(std::string(what) + " has dimension " + std::to_string(vectors.dim) +
                                   ", expected " + std::to_string(dim));
  }
  if (vectors.rows > 0 && vectors.data == nullptr) {
    return Status::InvalidArgument(std::string(what) + " data is null");
  }
  for (size_t r = 0; r < vectors.rows; ++r) {
    const float* row = vectors.row(r);
    for (size_t i = 0; i < dim; ++i) {
      if (!std::isfinite(row[i])) {
        return Status::InvalidArgument(std::string(what) + " " + std::to_string(r) + " component " +
                                       std::to_string(i) + " is " + (std::isnan(row[i]) ? "NaN" : "infinite"));
      }
    }
  }
  return Status::Ok();
}

// InvalidArgument unless there is one label per row, none is kNoLabel and none repeats.
inline Status CheckLabels(std::span<const Label> labels, size_t rows) {
  if (labels.size() != rows) {
    return Status::InvalidArgument(std::to_string(labels.size()) + " labels for " + std::to_string(rows) +
                                   " vectors");
  }
  std::unordered_set<Label> seen;
  seen.reserve(labels.size());
  for (Label l : labels) {
    if (l == kNoLabel) return Status::InvalidArgument("label " + std::to_string(l) + " is reserved");
    if (!seen.insert(l).second) {
      return Status::InvalidArgument("label " + std::to_string(l) + " appears twice in one batch");
    }
  }
  return Status::Ok();
}

}  // namespace vecdex
