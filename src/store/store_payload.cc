#include "store/store_payload.h"

#include <exception>
#include <nlohmann/json.hpp>

namespace vecdex::store {

namespace {

using Json = nlohmann::json;

// Parses `text` into `out`; on failure returns the message that names where it broke.
Status Parse(std::string_view text, const std::string& where, Json* out) {
  try {
    *out = Json::parse(text);
  } catch (const Json::parse_error& e) {
    return Status::InvalidArgument(where + ": payload is not valid JSON at byte " + std::to_string(e.byte) + ": " +
                                   e.what());
  } catch (const std::exception& e) {
    return Status::InvalidArgument(where + ": payload is not valid JSON: " + e.what());
  }
  if (!out->is_object()) {
    return Status::InvalidArgument(where + ": payload must be a JSON object, not " + std::string(out->type_name()));
  }
  return Status::Ok();
}

Result<std::string> Dump(const Json& json, const std::string& where) {
  try {
    // Strict UTF-8 is checked by the parser already; dump() can only throw on invalid UTF-8.
    return json.dump();
  } catch (const std::exception& e) {
    return Status::InvalidArgument(where + ": payload cannot be serialised: " + e.what());
  }
}

}  // namespace

Result<std::string> NormalizePayload(std::string_view json, const std::string& where) {
  if (json.empty()) return std::string();
  Json parsed;
  VECDEX_RETURN_IF_ERROR(Parse(json, where, &parsed));
  return Dump(parsed, where);
}

Result<std::string> MergePayload(std::string_view existing, std::string_view patch, const std::string& where) {
  if (existing.empty()) return std::string(patch);
  Json base;
  Json delta;
  Status st = Parse(existing, where, &base);
  if (!st.ok()) return Status::Corruption(st.message() + " (stored payload)");
  VECDEX_RETURN_IF_ERROR(Parse(patch, where, &delta));
  try {
    for (auto it = delta.begin(); it != delta.end(); ++it) base[it.key()] = it.value();
  } catch (const std::exception& e) {
    return Status::Internal(where + ": payload merge failed: " + e.what());
  }
  return Dump(base, where);
}

Result<std::string> DeletePayloadFields(std::string_view existing, std::span<const std::string> fields,
                                        const std::string& where) {
  if (existing.empty()) return std::string();
  Json base;
  Status st = Parse(existing, where, &base);
  if (!st.ok()) return Status::Corruption(st.message() + " (stored payload)");
  for (const std::string& field : fields) base.erase(field);
  if (base.empty()) return std::string();
  return Dump(base, where);
}

}  // namespace vecdex::store
