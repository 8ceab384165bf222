#include "server/json_io.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "server/api_error.h"

namespace vecdex::server {
namespace {

std::string Where(std::string_view where, std::string_view name) {
  std::string s(where);
  if (!s.empty()) s += '.';
  s += name;
  return s;
}

// A short rendering of a value for messages ("got \"abc\"", "got [1,2,...]").
std::string Shown(const Json& value) {
  std::string s = DumpJson(value);
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The canonical form of a UUID written in any of the forms Qdrant accepts (hyphenated, 32 hex
// digits, braced, urn:uuid:), or nullopt when `text` is not a UUID.
std::optional<std::string> NormaliseUuid(std::string_view text) {
  if (text.size() == 45 && text.substr(0, 9) == "urn:uuid:") text.remove_prefix(9);
  if (text.size() == 38 && text.front() == '{' && text.back() == '}') text = text.substr(1, 36);
  std::string hex;
  if (text.size() == 36) {
    for (size_t i = 0; i < 36; ++i) {
      const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
      if (dash != (text[i] == '-')) return std::nullopt;
      if (!dash) hex += text[i];
    }
  } else if (text.size() == 32) {
    hex = std::string(text);
  } else {
    return std::nullopt;
  }
  std::string out;
  for (size_t i = 0; i < 32; ++i) {
    if (HexValue(hex[i]) < 0) return std::nullopt;
    if (i == 8 || i == 12 || i == 16 || i == 20) out += '-';
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(hex[i])));
  }
  return out;
}

const Json* Lookup(const Json& object, std::string_view dotted) {
  const Json* at = &object;
  size_t start = 0;
  while (true) {
    const size_t dot = dotted.find('.', start);
    const std::string key(dotted.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (!at->is_object()) return nullptr;
    auto it = at->find(key);
    if (it == at->end()) return nullptr;
    at = &*it;
    if (dot == std::string_view::npos) return at;
    start = dot + 1;
  }
}

void Insert(Json& out, std::string_view dotted, const Json& value) {
  Json* at = &out;
  size_t start = 0;
  while (true) {
    const size_t dot = dotted.find('.', start);
    const std::string key(dotted.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) {
      (*at)[key] = value;
      return;
    }
    Json& next = (*at)[key];
    if (!next.is_object()) next = Json::object();
    at = &next;
    start = dot + 1;
  }
}

std::vector<std::string> StringList(const Json& value, std::string_view where) {
  if (!value.is_array()) throw ApiError(400, "Wrong input: " + std::string(where) + ": expected a list of strings");
  std::vector<std::string> out;
  for (const Json& item : value) {
    if (!item.is_string()) {
      throw ApiError(400, "Wrong input: " + std::string(where) + ": expected strings, got " + Shown(item));
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace

Json ParseJsonBody(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return nullptr;
  // Depth scan first: nlohmann's parser recurses per level, so a body of 100,000 '[' must be
  // refused before it reaches it.
  size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : body) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        throw ApiError(400, "Json deserialize error: nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels");
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  try {
    return Json::parse(body);
  } catch (const Json::exception& e) {
    std::string message = e.what();
    if (message.rfind("[json.exception.", 0) == 0) {
      const size_t close = message.find("] ");
      if (close != std::string::npos) message.erase(0, close + 2);
    }
    throw ApiError(400, "Json deserialize error: " + message);
  }
}

std::string DumpJson(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

const Json& RequireObject(const Json& value, std::string_view what) {
  static const Json kEmpty = Json::object();
  if (value.is_null()) return kEmpty;
  if (!value.is_object()) {
    throw ApiError(400, "Wrong input: " + std::string(what) + ": expected a JSON object, got " +
                            std::string(value.type_name()));
  }
  return value;
}

void CheckFields(const Json& object, std::string_view where, std::initializer_list<std::string_view> known) {
  if (!object.is_object()) return;
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (std::find(known.begin(), known.end(), it.key()) == known.end()) {
      throw ApiError(400, "Wrong input: " + Where(where, it.key()) + ": unknown field");
    }
  }
}

const Json* Field(const Json& object, std::string_view name) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(std::string(name));
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

bool GetBool(const Json& object, std::string_view name, bool default_value, std::string_view where) {
  const Json* v = Field(object, name);
  if (v == nullptr) return default_value;
  if (!v->is_boolean()) ThrowBadRequest(Where(where, name) + ": expected a boolean, got " + Shown(*v));
  return v->get<bool>();
}

uint64_t GetUint(const Json& object, std::string_view name, uint64_t default_value, uint64_t max,
                 std::string_view where) {
  const Json* v = Field(object, name);
  if (v == nullptr) return default_value;
  if (!v->is_number_unsigned()) {
    if (v->is_number_integer()) ThrowBadRequest(Where(where, name) + ": must not be negative, got " + Shown(*v));
    ThrowBadRequest(Where(where, name) + ": expected an unsigned integer, got " + Shown(*v));
  }
  const uint64_t value = v->get<uint64_t>();
  if (value > max) {
    ThrowBadRequest(Where(where, name) + ": " + std::to_string(value) + " is larger than the maximum " +
                    std::to_string(max));
  }
  return value;
}

std::optional<double> GetNumber(const Json& object, std::string_view name, std::string_view where) {
  const Json* v = Field(object, name);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number()) ThrowBadRequest(Where(where, name) + ": expected a number, got " + Shown(*v));
  const double value = v->get<double>();
  if (!std::isfinite(value)) ThrowBadRequest(Where(where, name) + ": not a finite number");
  return value;
}

std::optional<std::string> GetString(const Json& object, std::string_view name, std::string_view where) {
  const Json* v = Field(object, name);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) ThrowBadRequest(Where(where, name) + ": expected a string, got " + Shown(*v));
  return v->get<std::string>();
}

PointKey KeyFromJson(const Json& value, std::string_view where) {
  if (value.is_number_unsigned()) return PointKey::Int(value.get<uint64_t>());
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (std::optional<std::string> uuid = NormaliseUuid(text)) return PointKey::String(*uuid);
    PointKey key = PointKey::String(text);
    if (Status s = ValidatePointKey(key); !s.ok()) ThrowBadRequest(std::string(where) + ": " + s.message());
    return key;
  }
  if (value.is_number_integer()) ThrowBadRequest(std::string(where) + ": point id must not be negative");
  ThrowBadRequest(std::string(where) + ": a point id is an unsigned integer or a string, got " + Shown(value));
}

PointKey KeyFromText(const std::string& text) {
  if (!text.empty() && text.size() <= 20 && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    uint64_t v = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc() && ptr == text.data() + text.size()) return PointKey::Int(v);
  }
  return KeyFromJson(Json(text), "point id");
}

Json KeyToJson(const PointKey& key) {
  if (key.is_int()) return key.int_value();
  return key.string_value();
}

std::vector<PointKey> KeysFromJson(const Json& value, std::string_view where) {
  if (!value.is_array()) ThrowBadRequest(std::string(where) + ": expected a list of point ids, got " + Shown(value));
  std::vector<PointKey> keys;
  keys.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    keys.push_back(KeyFromJson(value[i], std::string(where) + "[" + std::to_string(i) + "]"));
  }
  return keys;
}

std::vector<float> VectorFromJson(const Json& value, std::string_view where) {
  if (value.is_object()) {
    ThrowBadRequest(std::string(where) + ": named vectors are not supported (vecdex collections hold one unnamed vector)");
  }
  if (!value.is_array()) ThrowBadRequest(std::string(where) + ": expected a list of numbers, got " + Shown(value));
  if (value.empty()) ThrowBadRequest(std::string(where) + ": empty vector");
  std::vector<float> out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    const Json& x = value[i];
    if (!x.is_number()) {
      ThrowBadRequest(std::string(where) + "[" + std::to_string(i) + "]: expected a number, got " + Shown(x));
    }
    const double d = x.get<double>();
    if (!std::isfinite(d) || std::abs(d) > std::numeric_limits<float>::max()) {
      ThrowBadRequest(std::string(where) + "[" + std::to_string(i) + "]: " + Shown(x) + " is not a finite float32");
    }
    out.push_back(static_cast<float>(d));
  }
  return out;
}

double FloatForJson(float value) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer) - 1, value);
  if (ec != std::errc()) return value;
  *end = '\0';
  return std::strtod(buffer, nullptr);
}

Json VectorToJson(std::span<const float> vector, bool normalise) {
  double scale = 1;
  if (normalise) {
    double norm = 0;
    for (float x : vector) norm += static_cast<double>(x) * x;
    if (norm > 0) scale = 1 / std::sqrt(norm);
  }
  Json out = Json::array();
  auto& array = out.get_ref<Json::array_t&>();
  array.reserve(vector.size());
  for (float x : vector) array.emplace_back(FloatForJson(static_cast<float>(x * scale)));
  return out;
}

std::string PayloadFromJson(const Json* value, std::string_view where) {
  if (value == nullptr || value->is_null()) return "";
  if (!value->is_object()) ThrowBadRequest(std::string(where) + ": a payload is a JSON object, got " + Shown(*value));
  return DumpJson(*value);
}

PayloadSelector ParseWithPayload(const Json* value, bool default_value, std::string_view where) {
  PayloadSelector s;
  s.enabled = default_value;
  if (value == nullptr) return s;
  if (value->is_boolean()) {
    s.enabled = value->get<bool>();
  } else if (value->is_array()) {
    s.enabled = true;
    s.include = StringList(*value, where);
  } else if (value->is_object()) {
    CheckFields(*value, where, {"include", "exclude"});
    s.enabled = true;
    if (const Json* inc = Field(*value, "include")) s.include = StringList(*inc, Where(where, "include"));
    if (const Json* exc = Field(*value, "exclude")) s.exclude = StringList(*exc, Where(where, "exclude"));
  } else {
    ThrowBadRequest(std::string(where) + ": expected a boolean, a list of fields or {include|exclude}, got " + Shown(*value));
  }
  return s;
}

Json SelectPayload(const std::string& payload_json, const PayloadSelector& selector) {
  if (payload_json.empty()) return Json::object();
  Json payload = Json::parse(payload_json, nullptr, /*allow_exceptions=*/false);
  if (payload.is_discarded() || !payload.is_object()) return Json::object();
  if (!selector.include.empty()) {
    Json out = Json::object();
    for (const std::string& field : selector.include) {
      if (const Json* v = Lookup(payload, field)) Insert(out, field, *v);
    }
    payload = std::move(out);
  }
  for (const std::string& field : selector.exclude) payload.erase(field);
  return payload;
}

bool ParseWithVector(const Json* value, bool default_value, std::string_view where) {
  if (value == nullptr) return default_value;
  if (value->is_boolean()) return value->get<bool>();
  if (value->is_array()) {
    for (const std::string& name : StringList(*value, where)) {
      if (!name.empty()) ThrowBadRequest(std::string(where) + ": no vector named \"" + name + "\" (vecdex collections hold one unnamed vector)");
    }
    return !value->empty();
  }
  ThrowBadRequest(std::string(where) + ": expected a boolean or a list of vector names, got " + Shown(*value));
}

std::shared_ptr<const Filter> ParseFilterField(const Json* value, std::string_view where) {
  if (value == nullptr) return nullptr;
  if (!value->is_object()) ThrowBadRequest(std::string(where) + ": a filter is a JSON object, got " + Shown(*value));
  Result<Filter> filter = ParseFilter(DumpJson(*value));
  if (!filter.ok()) {
    if (filter.status().code() == StatusCode::kInvalidArgument) ThrowBadRequest(filter.status().message());
    ThrowStatus(filter.status());
  }
  return std::make_shared<const Filter>(std::move(filter).value());
}

}  // namespace vecdex::server
