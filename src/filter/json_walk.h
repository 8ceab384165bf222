// The allocation-free walk of a FieldPath over a payload, shared by json_path.cc and the
// evaluator. Internal to src/filter (and src/payload, which indexes the same values).
#pragma once

#include <nlohmann/json.hpp>

#include "vecdex/filter.h"

namespace vecdex::filter::internal {

using Json = nlohmann::json;
using StepIter = const FieldPath::Step*;

template <typename Fn>
bool VisitRawFrom(const Json& value, StepIter step, StepIter end, Fn& fn);

// Applies the bracket part of `step` ("[]", "[n]" or nothing) to `value`, then walks on.
template <typename Fn>
bool ApplyBracket(const Json& value, StepIter step, StepIter end, Fn& fn) {
  if (step->flatten) {
    if (!value.is_array()) return false;
    for (const Json& element : value) {
      if (VisitRawFrom(element, step + 1, end, fn)) return true;
    }
    return false;
  }
  if (step->index.has_value()) {
    if (!value.is_array() || *step->index >= value.size()) return false;
    return VisitRawFrom(value[*step->index], step + 1, end, fn);
  }
  return VisitRawFrom(value, step + 1, end, fn);
}

// Calls fn(value) -> bool for every value the steps [step, end) reach from `value`, without
// flattening what the last step reaches; fn returning true stops the walk (and makes it return
// true). Recursion depth is the number of steps (bounded by kMaxFieldPathSteps).
template <typename Fn>
bool VisitRawFrom(const Json& value, StepIter step, StepIter end, Fn& fn) {
  if (step == end) return fn(value);
  if (step->field.empty()) return ApplyBracket(value, step, end, fn);
  if (value.is_object()) {
    const auto it = value.find(step->field);
    if (it == value.end()) return false;
    return ApplyBracket(*it, step, end, fn);
  }
  if (value.is_array()) {
    // Like Qdrant: a key step that meets an array looks into each element that is an object.
    for (const Json& element : value) {
      if (!element.is_object()) continue;
      const auto it = element.find(step->field);
      if (it != element.end() && ApplyBracket(*it, step, end, fn)) return true;
    }
  }
  return false;
}

// Every value the path reaches in `payload`, as Qdrant's payload lookup returns them: an array
// reached at the end of the path is one value (is_empty and is_null look at these).
template <typename Fn>
bool VisitRaw(const Json& payload, const FieldPath& path, Fn&& fn) {
  if (path.steps.empty()) return false;
  StepIter begin = path.steps.data();
  return VisitRawFrom(payload, begin, begin + path.steps.size(), fn);
}

// The values field conditions compare with: the raw values, with arrays flattened one level.
template <typename Fn>
bool VisitValues(const Json& payload, const FieldPath& path, Fn&& fn) {
  auto flatten = [&fn](const Json& value) {
    if (!value.is_array()) return static_cast<bool>(fn(value));
    for (const Json& element : value) {
      if (fn(element)) return true;
    }
    return false;
  };
  return VisitRaw(payload, path, flatten);
}

}  // namespace vecdex::filter::internal
