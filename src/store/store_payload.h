// JSON payloads: validated and normalised at the store's edge. nlohmann::json throws; nothing
// here lets an exception escape.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "vecdex/status.h"

namespace vecdex::store {

// "" stays "" (no payload). Anything else must parse as a JSON object and comes back in compact
// form. Errors: InvalidArgument "<where>: ..." with the byte offset of a syntax error, or saying
// the value is not an object.
[[nodiscard]] Result<std::string> NormalizePayload(std::string_view json, const std::string& where);

// `patch` (a normalised JSON object) merged into `existing` (normalised, or "" for none): each
// top-level field of patch replaces or adds the same field. Errors: Corruption when `existing`
// does not parse (it was validated on the way in, so that means damage).
[[nodiscard]] Result<std::string> MergePayload(std::string_view existing, std::string_view patch,
                                               const std::string& where);

// `existing` without the top-level fields named in `fields` ("" when nothing is left).
// Corruption when `existing` is not a JSON object (a damaged stored payload).
Result<std::string> DeletePayloadFields(std::string_view existing, std::span<const std::string> fields,
                                        const std::string& where);

}  // namespace vecdex::store
