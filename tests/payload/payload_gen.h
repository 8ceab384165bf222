// Seeded random payloads and filters for the payload-index and filtered-search tests.
//
// Payloads mix the shapes filters meet in practice and the awkward ones (arrays, nested objects,
// arrays of objects, nulls, missing fields, a field holding values of several types), so that an
// index answering "exactly" can be checked against the per-point evaluation (filter::Matches).
// Filters combine every condition kind at random depth. Shared by tests/payload and
// tests/db/filter_search_test.cc; header-only, no vecdex internals.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vecdex/database.h"

namespace vecdex::payloadtest {

// True in AddressSanitizer and ThreadSanitizer builds: the random tests run fewer rounds.
inline constexpr bool kSanitizedBuild =
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    true;
#else
    false;
#endif

using Json = nlohmann::json;
using Rng = std::mt19937_64;

// Whether a payload value is one a payload index of `type` holds (field_index.h): strings,
// integers within int64, numbers, bools.
inline bool ValueOfType(const Json& v, PayloadFieldType type) {
  switch (type) {
    case PayloadFieldType::kKeyword: return v.is_string();
    case PayloadFieldType::kInteger:
      return v.is_number_integer() && !(v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{INT64_MAX});
    case PayloadFieldType::kFloat: return v.is_number();
    case PayloadFieldType::kBool: return v.is_boolean();
  }
  return false;
}

inline size_t Uniform(Rng& rng, size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); }
inline bool Chance(Rng& rng, double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; }
inline int64_t IntIn(Rng& rng, int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); }

inline const std::vector<std::string>& Words() {
  static const std::vector<std::string> words = {"red", "green", "blue", "cyan", "magenta", "black", "white"};
  return words;
}
// Skewed: "red" is common, "white" rare.
inline std::string Word(Rng& rng) {
  const size_t n = Words().size();
  size_t i = 0;
  while (i + 1 < n && Chance(rng, 0.55)) ++i;
  return Words()[i];
}
// A half-integer or integer-valued double in [-5, 5] ("3.5", "-2.0"); never an integer token.
inline double HalfStep(Rng& rng) { return static_cast<double>(IntIn(rng, -10, 10)) / 2.0; }

// A scalar of any JSON type.
inline Json AnyScalar(Rng& rng) {
  switch (Uniform(rng, 6)) {
    case 0: return Word(rng);
    case 1: return IntIn(rng, -3, 9);
    case 2: return HalfStep(rng) + 0.25;  // never integral
    case 3: return Chance(rng, 0.5);
    case 4: return nullptr;
    default: return std::to_string(IntIn(rng, 0, 9));  // a number as a string
  }
}

// The payload of point `id` (an object, or null for "no payload"). Field by field:
//   kw    mostly a word; sometimes a list of words, an integer, null, or missing
//   n     mostly an integer in [-3, 9]; sometimes a list of them, a string, a bool; never a float
//   m     integers and floats mixed (an integer index on it must give up on ranges)
//   f     a number (integral doubles, halves, integers)
//   b     mostly a bool; sometimes a list of bools, 1, "true", null
//   a     {"b": int or word}, or a list of such objects, or a scalar
//   tags  a list of 0-4 words, sometimes a single word
//   items a list of objects {"x": int, "y": word} (nested conditions)
//   u     id % 1000 (selectivity control in the collection tests)
inline Json RandomPayload(Rng& rng, uint64_t id) {
  if (Chance(rng, 0.04)) return nullptr;
  Json p = Json::object();
  // kw
  const size_t kw = Uniform(rng, 20);
  if (kw < 13) {
    p["kw"] = Word(rng);
  } else if (kw < 16) {
    Json list = Json::array();
    for (size_t i = Uniform(rng, 4); i > 0; --i) list.push_back(Word(rng));
    p["kw"] = list;
  } else if (kw == 16) {
    p["kw"] = IntIn(rng, 0, 3);
  } else if (kw == 17) {
    p["kw"] = nullptr;
  } else if (kw == 18) {
    p["kw"] = Json::array({Word(rng), IntIn(rng, 0, 3), true});
  }
  // n
  const size_t n = Uniform(rng, 20);
  if (n < 12) {
    p["n"] = IntIn(rng, -3, 9);
  } else if (n < 15) {
    Json list = Json::array();
    for (size_t i = Uniform(rng, 4); i > 0; --i) list.push_back(IntIn(rng, -3, 9));
    p["n"] = list;
  } else if (n == 15) {
    p["n"] = std::to_string(IntIn(rng, -3, 9));
  } else if (n == 16) {
    p["n"] = Chance(rng, 0.5);
  } else if (n == 17) {
    p["n"] = nullptr;
  }
  // m
  if (Chance(rng, 0.8)) p["m"] = Chance(rng, 0.7) ? Json(IntIn(rng, -3, 9)) : Json(HalfStep(rng));
  // f
  const size_t f = Uniform(rng, 10);
  if (f < 4) {
    p["f"] = HalfStep(rng);
  } else if (f < 7) {
    p["f"] = IntIn(rng, -5, 5);
  } else if (f == 7) {
    p["f"] = Json::array({HalfStep(rng), IntIn(rng, -5, 5)});
  } else if (f == 8) {
    p["f"] = "1.5";
  }
  // b
  const size_t b = Uniform(rng, 12);
  if (b < 7) {
    p["b"] = Chance(rng, 0.4);
  } else if (b == 7) {
    p["b"] = Json::array({Chance(rng, 0.5), Chance(rng, 0.5)});
  } else if (b == 8) {
    p["b"] = 1;
  } else if (b == 9) {
    p["b"] = "true";
  } else if (b == 10) {
    p["b"] = nullptr;
  }
  // a
  const auto inner = [&rng]() {
    Json o = Json::object();
    if (Chance(rng, 0.85)) o["b"] = Chance(rng, 0.6) ? Json(IntIn(rng, 0, 5)) : Json(Word(rng));
    return o;
  };
  const size_t a = Uniform(rng, 10);
  if (a < 5) {
    p["a"] = inner();
  } else if (a < 8) {
    Json list = Json::array();
    for (size_t i = Uniform(rng, 3) + 1; i > 0; --i) list.push_back(inner());
    p["a"] = list;
  } else if (a == 8) {
    p["a"] = AnyScalar(rng);
  }
  // tags
  const size_t t = Uniform(rng, 10);
  if (t < 7) {
    Json list = Json::array();
    for (size_t i = Uniform(rng, 5); i > 0; --i) list.push_back(Word(rng));
    p["tags"] = list;
  } else if (t == 7) {
    p["tags"] = Word(rng);
  } else if (t == 8) {
    p["tags"] = Json::array({Word(rng), AnyScalar(rng)});
  }
  // items
  if (Chance(rng, 0.7)) {
    Json list = Json::array();
    for (size_t i = Uniform(rng, 4); i > 0; --i) {
      Json o = Json::object();
      o["x"] = IntIn(rng, 0, 5);
      o["y"] = Word(rng);
      list.push_back(o);
    }
    p["items"] = list;
  }
  p["u"] = id % 1000;
  return p;
}

// Paths filters use, and the value type each one mostly holds ('s' string, 'i' integer, 'f'
// number, 'b' bool).
struct PathKind {
  const char* path;
  char kind;
};
inline const std::vector<PathKind>& FilterPaths() {
  static const std::vector<PathKind> paths = {
      {"kw", 's'},  {"n", 'i'},      {"m", 'f'},        {"f", 'f'},          {"b", 'b'},     {"a.b", 'i'},
      {"a[].b", 's'}, {"tags", 's'}, {"tags[]", 's'},   {"items[].x", 'i'},  {"u", 'i'},     {"missing", 's'},
      {"a", 'i'},   {"items", 's'},  {"tags[0]", 's'},  {"items[].y", 's'},
  };
  return paths;
}

// A match value: mostly of the path's kind, sometimes of another.
inline Json MatchValueFor(Rng& rng, char kind) {
  if (Chance(rng, 0.2)) kind = "sib"[Uniform(rng, 3)];
  switch (kind) {
    case 's': return Chance(rng, 0.9) ? Json(Word(rng)) : Json("nope");
    case 'b': return Chance(rng, 0.5);
    default: return IntIn(rng, -3, 10);
  }
}

inline Json RangeFor(Rng& rng, char kind) {
  Json r = Json::object();
  const auto bound = [&]() -> Json {
    if (kind == 'i' && Chance(rng, 0.6)) return IntIn(rng, -4, 10);
    return HalfStep(rng) + (Chance(rng, 0.3) ? 0.25 : 0.0);
  };
  const size_t which = Uniform(rng, 6);
  if (which == 0 || which == 4) r["gt"] = bound();
  if (which == 1 || which == 4 || which == 5) r["gte"] = bound();
  if (which == 2 || which == 5) r["lt"] = bound();
  if (which == 3 || which == 4) r["lte"] = bound();
  return r;
}

// A field condition on a random path.
inline Json RandomFieldCondition(Rng& rng) {
  const PathKind& pk = FilterPaths()[Uniform(rng, FilterPaths().size())];
  Json c = Json::object();
  c["key"] = pk.path;
  const size_t op = Uniform(rng, 20);
  if (op < 7) {
    c["match"] = {{"value", MatchValueFor(rng, pk.kind)}};
  } else if (op < 10) {
    Json list = Json::array();
    for (size_t i = Uniform(rng, 3) + 1; i > 0; --i) list.push_back(MatchValueFor(rng, pk.kind));
    c["match"] = {{"any", list}};
  } else if (op < 12) {
    Json list = Json::array();
    for (size_t i = Uniform(rng, 3); i > 0; --i) list.push_back(MatchValueFor(rng, pk.kind));
    c["match"] = {{"except", list}};
  } else if (op == 12) {
    c["match"] = {{"text", Chance(rng, 0.5) ? "re" : "a"}};
  } else if (op < 19) {
    c["range"] = RangeFor(rng, pk.kind);
  } else {
    c["values_count"] = Chance(rng, 0.5) ? Json{{"gte", 2}} : Json{{"lt", 1}};
  }
  return c;
}

Json RandomFilter(Rng& rng, int depth, uint64_t max_id, bool in_nested = false);

// Any condition; sub-filters and nested conditions while depth lasts. has_id names keys in
// [0, max_id + 5] (some absent). Not inside nested (the parser rejects it there).
inline Json RandomCondition(Rng& rng, int depth, uint64_t max_id, bool in_nested = false) {
  const size_t kind = Uniform(rng, 20);
  if (kind < 11 || depth <= 0) {
    if (kind == 0 && !in_nested) {
      Json ids = Json::array();
      for (size_t i = Uniform(rng, 12) + 1; i > 0; --i) ids.push_back(IntIn(rng, 0, static_cast<int64_t>(max_id) + 5));
      return Json{{"has_id", ids}};
    }
    return RandomFieldCondition(rng);
  }
  if (kind < 13) {
    const PathKind& pk = FilterPaths()[Uniform(rng, FilterPaths().size())];
    return Json{{Chance(rng, 0.5) ? "is_empty" : "is_null", {{"key", pk.path}}}};
  }
  if (kind < 15 && !in_nested) {
    Json sub = Json::object();
    Json must = Json::array();
    must.push_back(Json{{"key", "x"}, {"range", {{"gte", IntIn(rng, 0, 4)}}}});
    if (Chance(rng, 0.6)) must.push_back(Json{{"key", "y"}, {"match", {{"value", Word(rng)}}}});
    sub["must"] = must;
    return Json{{"nested", {{"key", "items"}, {"filter", sub}}}};
  }
  return RandomFilter(rng, depth - 1, max_id, in_nested);
}

// A filter: a few must / should / must_not conditions, rarely min_should. Never empty at the top
// (an empty filter matches everything, which other cases cover).
inline Json RandomFilter(Rng& rng, int depth, uint64_t max_id, bool in_nested) {
  Json f = Json::object();
  const auto clause = [&](const char* name, size_t max) {
    const size_t count = Uniform(rng, max + 1);
    if (count == 0) return;
    Json list = Json::array();
    for (size_t i = 0; i < count; ++i) list.push_back(RandomCondition(rng, depth, max_id, in_nested));
    f[name] = list;
  };
  clause("must", 2);
  clause("should", 2);
  clause("must_not", 1);
  if (Chance(rng, 0.08)) {
    Json list = Json::array();
    for (size_t i = Uniform(rng, 3) + 1; i > 0; --i) list.push_back(RandomCondition(rng, depth - 1, max_id, in_nested));
    f["min_should"] = {{"conditions", list}, {"min_count", Uniform(rng, list.size()) + 1}};
  }
  if (f.empty()) f["must"] = Json::array({RandomFieldCondition(rng)});
  return f;
}

}  // namespace vecdex::payloadtest
