// JSON in and out of the API: the depth-limited body parser, typed field access whose errors
// name the field (400), and the conversions between JSON and vecdex values (point ids, vectors,
// payloads, with_payload / with_vector selectors, filters).
//
// Every function here throws ApiError (400) on bad input; none of them touches a collection.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "vecdex/filter.h"
#include "vecdex/point.h"

namespace vecdex::server {

using Json = nlohmann::json;

// Deepest nesting of arrays and objects accepted in a request body: checked by a scan before
// nlohmann parses (it recurses once per level).
inline constexpr size_t kMaxJsonDepth = 64;

// Parses a request body; an empty (or all-whitespace) body is null. Errors: 400 for nesting
// deeper than kMaxJsonDepth and for malformed JSON ("Json deserialize error: ...").
Json ParseJsonBody(std::string_view body);

// Serialises a response (invalid UTF-8 is replaced rather than thrown on).
std::string DumpJson(const Json& value);

// The body as an object: null (no body) is {}; anything else that is not an object is a 400.
const Json& RequireObject(const Json& value, std::string_view what);
// 400 naming the first field of `object` not in `known`.
void CheckFields(const Json& object, std::string_view where, std::initializer_list<std::string_view> known);

// Field access: absent and null give nullptr / the default; a wrong type is a 400 naming
// "<where>.<name>".
const Json* Field(const Json& object, std::string_view name);
bool GetBool(const Json& object, std::string_view name, bool default_value, std::string_view where);
// An unsigned integer in [0, max].
uint64_t GetUint(const Json& object, std::string_view name, uint64_t default_value, uint64_t max,
                 std::string_view where);
std::optional<double> GetNumber(const Json& object, std::string_view name, std::string_view where);
std::optional<std::string> GetString(const Json& object, std::string_view name, std::string_view where);

// Point ids: an unsigned integer, or a string (UUIDs are normalised to lower-case hyphenated
// form as Qdrant does; any other non-empty string is our extension).
PointKey KeyFromJson(const Json& value, std::string_view where);
// A point id from a URL path segment: decimal digits are an integer id, anything else a string.
PointKey KeyFromText(const std::string& text);
Json KeyToJson(const PointKey& key);
std::vector<PointKey> KeysFromJson(const Json& value, std::string_view where);

// A dense vector: a non-empty array of numbers, each finite as float32. A named-vector object
// ({"name": [...]}) is rejected (vecdex collections hold one unnamed vector).
std::vector<float> VectorFromJson(const Json& value, std::string_view where);
// Floats as their shortest decimal form (0.1f -> 0.1).
Json VectorToJson(std::span<const float> vector, bool normalise);
double FloatForJson(float value);

// A payload: a JSON object (as text) or null/absent (""). Errors: 400 for any other type.
std::string PayloadFromJson(const Json* value, std::string_view where);

// with_payload: true/false, a list of fields to include, or {"include": [...]} / {"exclude": [...]}.
// Fields are top-level keys (or dotted paths into objects, for include).
struct PayloadSelector {
  bool enabled = false;
  std::vector<std::string> include;  // empty: every field (unless excluded)
  std::vector<std::string> exclude;
};
PayloadSelector ParseWithPayload(const Json* value, bool default_value, std::string_view where);
// The payload to return: {} for a point without payload, the selected fields otherwise.
Json SelectPayload(const std::string& payload_json, const PayloadSelector& selector);
// with_vector: true/false, or a list of vector names (only the unnamed vector "" exists).
bool ParseWithVector(const Json* value, bool default_value, std::string_view where);

// A filter object (or null/absent: nullptr). Errors: 400 with the parser's message.
std::shared_ptr<const Filter> ParseFilterField(const Json* value, std::string_view where);

}  // namespace vecdex::server
