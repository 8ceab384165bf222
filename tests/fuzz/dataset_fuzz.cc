// libFuzzer target for the dataset parsers: feeds arbitrary bytes to the in-memory entry points
// that the file readers share (ParseFvecs, ParseIvecs, ParseBvecs, ParseNpy) and checks, beyond
// "no crash, no sanitizer report", that whatever parses is self-consistent:
//   - a failure is Corruption or InvalidArgument (never IOError, never an unknown code);
//   - a parsed .vecs input re-encodes to exactly the input bytes;
//   - a parsed .npy input re-encodes, and re-parses to the same values bit for bit;
//   - a max_rows read returns exactly the prefix of the full read.
// Build with -DVECDEX_BUILD_FUZZ=ON and clang (see CMakeLists.txt), run e.g.
//   build-fuzz/dataset_fuzz -max_total_time=30
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "io/npy_io.h"
#include "io/vecs_io.h"

namespace {

using vecdex::Status;
using vecdex::StatusCode;

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "dataset_fuzz: invariant violated: %s\n", what);
    std::abort();
  }
}

void CheckFailure(const Status& status) {
  Check(status.code() == StatusCode::kCorruption || status.code() == StatusCode::kInvalidArgument,
        "parse failure is Corruption or InvalidArgument");
  Check(status.message().rfind("fuzz: ", 0) == 0, "error message names the input");
}

template <typename Dataset>
bool SameValues(const Dataset& a, const Dataset& b, size_t count) {
  // memcmp must not see the null data() of an empty vector, even with a zero count.
  return count == 0 || std::memcmp(a.values.data(), b.values.data(), count * sizeof(a.values[0])) == 0;
}

// `parse(bytes, name, max_rows)` and `encode(view)` for one .vecs flavor.
template <typename Parse, typename Encode>
void FuzzVecs(std::span<const uint8_t> bytes, size_t max_rows, Parse parse, Encode encode) {
  auto full = parse(bytes, "fuzz", 0);
  if (!full.ok()) {
    CheckFailure(full.status());
    return;
  }
  Check(full->rows > 0 && full->dim > 0 && full->dim <= vecdex::io::kMaxDim, "sane shape");
  Check(full->values.size() == full->rows * full->dim, "values match the shape");
  auto encoded = encode(full->view());
  Check(encoded.ok(), "a parsed dataset encodes");
  Check(encoded->size() == bytes.size() &&
            std::memcmp(encoded->data(), bytes.data(), bytes.size()) == 0,
        "re-encoding reproduces the input");

  auto prefix = parse(bytes, "fuzz", max_rows);
  Check(prefix.ok(), "a prefix of a valid file parses");
  Check(prefix->rows == (max_rows == 0 ? full->rows : std::min(max_rows, full->rows)),
        "max_rows honored");
  Check(SameValues(*prefix, *full, prefix->values.size()), "prefix equals the full read");
}

void FuzzNpy(std::span<const uint8_t> bytes, size_t max_rows) {
  auto full = vecdex::io::ParseNpy(bytes, "fuzz", 0);
  if (!full.ok()) {
    CheckFailure(full.status());
    return;
  }
  Check(full->dim > 0 && full->dim <= vecdex::io::kMaxDim, "sane dimension");
  Check(full->values.size() == full->rows * full->dim, "values match the shape");
  // The data is the last rows * dim * 4 bytes of the input.
  const size_t data_bytes = full->values.size() * sizeof(float);
  Check(data_bytes <= bytes.size(), "data fits in the input");
  Check(data_bytes == 0 || std::memcmp(full->values.data(), bytes.data() + bytes.size() - data_bytes,
                                       data_bytes) == 0,
        "values are the input's trailing bytes");

  auto encoded = vecdex::io::EncodeNpy(full->view());
  Check(encoded.ok(), "a parsed dataset encodes");
  Check(encoded->size() % 64 == data_bytes % 64, "encoded header is 64-byte aligned");
  auto again = vecdex::io::ParseNpy(*encoded, "fuzz", 0);
  Check(again.ok(), "an encoded dataset parses");
  Check(again->rows == full->rows && again->dim == full->dim, "round trip keeps the shape");
  Check(SameValues(*again, *full, full->values.size()), "round trip keeps the values");

  auto prefix = vecdex::io::ParseNpy(bytes, "fuzz", max_rows);
  Check(prefix.ok(), "a prefix of a valid file parses");
  Check(prefix->rows == (max_rows == 0 ? full->rows : std::min(max_rows, full->rows)),
        "max_rows honored");
  Check(SameValues(*prefix, *full, prefix->values.size()), "prefix equals the full read");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  // Some max_rows from the input itself, so the prefix path is explored too (0 = all).
  const size_t max_rows = size > 0 ? data[size / 2] % 5 : 0;
  FuzzVecs(bytes, max_rows, vecdex::io::ParseFvecs, vecdex::io::EncodeFvecs);
  FuzzVecs(bytes, max_rows, vecdex::io::ParseIvecs, vecdex::io::EncodeIvecs);
  FuzzVecs(bytes, max_rows, vecdex::io::ParseBvecs, vecdex::io::EncodeBvecs);
  FuzzNpy(bytes, max_rows);
  return 0;
}
