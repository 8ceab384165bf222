// Paths into JSON payloads and the evaluation of filters against one payload.
//
// Shared by the filter parser, the payload indexes (src/payload) and the collection: a FieldPath
// is parsed once, then walked over many payloads without allocating. Thread safety: free
// functions over immutable inputs; call them from any thread.
#pragma once

#include <functional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "vecdex/filter.h"
#include "vecdex/status.h"

namespace vecdex::filter {

// Most steps in one path ("a.b[].c" has three): deeper paths are rejected, which bounds the
// recursion of the walk.
inline constexpr size_t kMaxFieldPathSteps = 64;

// Parses "a.b[].c", "tags[0]" into a FieldPath (text = as written). InvalidArgument on empty keys,
// bad brackets, etc.
// Grammar: segment ("." segment)*, segment = name ("[]" | "[" digits "]")*, name = one or more bytes
// other than '.', '[', ']' and '"' (quoted keys are not supported). "a[0][1]" gives the steps
// {a,[0]} and {"",[1]}. At most kMaxFieldPathSteps steps.
Result<FieldPath> ParseFieldPath(std::string_view text);

// Calls fn for every value found at `path` in `payload` (an object), arrays flattened as filter.h
// describes (an array reached at the end of the path yields its elements, not the array itself;
// values_count counts these).
void ForEachValue(const nlohmann::json& payload, const FieldPath& path,
                  const std::function<void(const nlohmann::json&)>& fn);

// Whether the point matches; payload may be null/discarded json for "no payload" (then every
// field is absent). The filter must come from ParseFilter (or satisfy its rules).
bool Matches(const Filter& filter, const PointKey& key, const nlohmann::json& payload);

}  // namespace vecdex::filter
