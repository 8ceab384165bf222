// libFuzzer target for the filter language: feeds arbitrary bytes to ParseFilter and checks,
// beyond "no crash, no sanitizer report", that
//   - a failure is InvalidArgument with a message that names its place ("filter...");
//   - a parsed filter serialises to canonical JSON that parses again to the same canonical JSON;
//   - evaluating it (and its re-parsed copy) on a few fixed payloads never fails and agrees.
// Build with -DVECDEX_BUILD_FUZZ=ON and clang (see CMakeLists.txt), run e.g.
//   build-fuzz/filter_fuzz -max_total_time=60
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "vecdex/filter.h"

namespace {

using vecdex::StatusCode;

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "filter_fuzz: invariant violated: %s\n", what);
    std::abort();
  }
}

// Payloads with the shapes filters look at: scalars of each type, arrays, objects in arrays,
// nulls, missing fields; and no payload at all.
constexpr const char* kPayloads[] = {
    "",
    "{}",
    R"({"a": 1, "b": "x", "c": true, "d": null, "e": 2.5, "f": [], "g": [1, "x", null, [2]]})",
    R"({"a": {"b": [{"c": 1, "d": "red"}, {"c": [2, 3], "d": null}, 7]}, "n": -4, "s": "good cheap"})",
    R"({"diet": [{"food": "meat", "likes": true}, {"food": "leaves", "likes": false}], "x": [[1, 2], {"y": 0}]})",
    R"({"k": 18446744073709551615, "m": -9223372036854775808, "t": ["a", "b", "a"], "o": {"": {"a": 1}}})",
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  vecdex::Result<vecdex::Filter> parsed = vecdex::ParseFilter(text);
  if (!parsed.ok()) {
    Check(parsed.status().code() == StatusCode::kInvalidArgument, "parse failure is InvalidArgument");
    Check(parsed.status().message().rfind("filter", 0) == 0, "error message starts with its location");
    return 0;
  }
  const std::string canonical = vecdex::FilterToJson(*parsed);
  vecdex::Result<vecdex::Filter> again = vecdex::ParseFilter(canonical);
  Check(again.ok(), "the canonical JSON of a parsed filter parses");
  Check(vecdex::FilterToJson(*again) == canonical, "canonical JSON round-trips");
  const vecdex::PointKey keys[] = {vecdex::PointKey::Int(1), vecdex::PointKey::String("k")};
  for (const char* payload : kPayloads) {
    for (const vecdex::PointKey& key : keys) {
      vecdex::Result<bool> first = vecdex::FilterMatches(*parsed, key, payload);
      vecdex::Result<bool> second = vecdex::FilterMatches(*again, key, payload);
      Check(first.ok() && second.ok(), "evaluation on a valid payload succeeds");
      Check(*first == *second, "the re-parsed filter gives the same answer");
    }
  }
  return 0;
}
